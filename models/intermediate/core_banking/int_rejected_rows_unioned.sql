{#-
    Every rejected row of the files, one list for data-quality reporting and reconciliation: the simulated bank's
    entities (int_<entity>_rejected) and the Czech bank's (int_berka_rows_rejected), each with file, line and
    reason.
-#}
{%- set entities = {
    'products': 'product_code', 'clients': 'client_id', 'accounts': 'account_id', 'loans': 'loan_id',
    'loan_schedules': "loan_id || '/' || installment_no", 'loan_payments': 'payment_id',
    'transactions': 'transaction_id', 'balances': "account_id || '/' || balance_date",
    'postings': 'posting_id', 'fraud_labels': 'transaction_id'
} %}
{%- for entity, business_key in entities.items() %}
    select
        {{ source_system('core_banking') }} as source_system,
        '{{ entity }}'::text as entity,
        ({{ business_key }})::text as business_key,
        rejection_reason,
        source_file_name,
        source_line_number,
        delivery_date,
        loaded_at
    from {{ ref('int_' ~ entity ~ '_rejected') }}
    union all
{%- endfor %}
select
    source_system,
    entity,
    business_key,
    rejection_reason,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from {{ ref('int_berka_rows_rejected') }}
