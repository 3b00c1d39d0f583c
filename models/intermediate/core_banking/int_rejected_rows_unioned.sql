{#- Every row a core-banking staging model rejected, one list for data-quality reporting and reconciliation. -#}
{%- set entities = {
    'products': 'product_code', 'clients': 'client_id', 'accounts': 'account_id', 'loans': 'loan_id',
    'loan_schedules': "loan_id || '/' || installment_no", 'loan_payments': 'payment_id',
    'transactions': 'transaction_id', 'balances': "account_id || '/' || balance_date",
    'postings': 'posting_id', 'fraud_labels': 'transaction_id'
} %}
{%- for entity, business_key in entities.items() %}
    select
        {{ core_banking_system() }}::text as source_system,
        '{{ entity }}'::text as entity,
        ({{ business_key }})::text as business_key,
        rejection_reason,
        source_file_name,
        source_line_number,
        delivery_date,
        loaded_at
    from {{ ref('stg_core_banking__' ~ entity ~ '_rejected') }}
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
