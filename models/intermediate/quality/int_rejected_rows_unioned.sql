{#-
    Every rejected row of every source in one list, for data-quality reports and the reconciliation with the
    generator's manifest: one row per delivered row that a check refused, with its source system, entity, business
    key, reason, what exactly was refused (rejection_detail: the column and the value as delivered, or the
    row-level check), and where it came from (file and line for files, dlt's record id for API records). Nothing
    is dropped silently: a row missing from the intermediates is here, and a key delivered twice with different
    content is here twice (conflicting_duplicate). A new source adds its staging models below.
-#}
{%- set file_lineage = 'source_file_name, source_line_number, delivery_date, loaded_at, '
    ~ 'null::text as source_record_id' -%}
{%- set berka_lineage = 'source_file_name, source_line_number::bigint as source_line_number, '
    ~ 'null::date as delivery_date, null::timestamptz as loaded_at, null::text as source_record_id' -%}
{%- set api_lineage = 'null::text as source_file_name, null::bigint as source_line_number, '
    ~ 'null::date as delivery_date, null::timestamptz as loaded_at, record_id as source_record_id' -%}
{%- set rejected = [
    ('core_banking', 'products', 'stg_core_banking__products', 'product_code', file_lineage),
    ('core_banking', 'clients', 'stg_core_banking__clients', 'client_id', file_lineage),
    ('core_banking', 'accounts', 'stg_core_banking__accounts', 'account_id', file_lineage),
    ('core_banking', 'loans', 'stg_core_banking__loans', 'loan_id', file_lineage),
    ('core_banking', 'loan_schedules', 'stg_core_banking__loan_schedules', "loan_id || '/' || installment_no",
        file_lineage),
    ('core_banking', 'loan_payments', 'stg_core_banking__loan_payments', 'payment_id', file_lineage),
    ('core_banking', 'transactions', 'int_transactions_validated', 'transaction_id', file_lineage),
    ('core_banking', 'balances', 'stg_core_banking__balances', "account_id || '/' || balance_date", file_lineage),
    ('core_banking', 'postings', 'stg_core_banking__postings', 'posting_id', file_lineage),
    ('core_banking', 'fraud_labels', 'stg_core_banking__fraud_labels', 'transaction_id', file_lineage),
    ('core_banking', 'survey_responses', 'stg_bank_api__survey_responses', 'response_id', api_lineage),
    ('core_banking', 'fx_rates', 'stg_bank_api__fx_rates', "currency || '/' || rate_date", api_lineage),
    ('berka', 'account', 'stg_berka__account', 'account_id', berka_lineage),
    ('berka', 'client', 'stg_berka__client', 'client_id', berka_lineage),
    ('berka', 'disposition', 'stg_berka__disposition', 'disp_id', berka_lineage),
    ('berka', 'card', 'stg_berka__card', 'card_id', berka_lineage),
    ('berka', 'loan', 'stg_berka__loan', 'loan_id', berka_lineage),
    ('berka', 'standing_order', 'stg_berka__standing_order', 'order_id', berka_lineage),
    ('berka', 'district', 'stg_berka__district', 'district_id', berka_lineage),
    ('berka', 'transaction', 'stg_berka__transaction', 'trans_id', berka_lineage),
] %}

{#- Models whose rows say what exactly was refused; the others give their reason code. -#}
{%- set detailed = [
    'stg_core_banking__products', 'stg_core_banking__clients', 'stg_core_banking__accounts', 'stg_core_banking__loans',
    'stg_core_banking__loan_schedules', 'stg_core_banking__loan_payments', 'stg_core_banking__balances',
    'stg_core_banking__postings', 'stg_core_banking__fraud_labels', 'stg_bank_api__survey_responses',
    'stg_bank_api__fx_rates',
] -%}

with

{#- The transactions' verdict is int_transactions_validated's (it adds unknown_account); the detail of the staging
    checks comes from the staged row at the same file and line. #}
transaction_details as (
    select
        validated.*,
        staged.rejection_detail as staged_rejection_detail
    from {{ ref('int_transactions_validated') }} as validated
    left join {{ ref('stg_core_banking__transactions') }} as staged
        on
        validated.source_file_name = staged.source_file_name
        and validated.source_line_number = staged.source_line_number
        and not staged.is_valid
    where not validated.is_valid
),

rejected as (
    {%- for system, entity, model, business_key, lineage in rejected %}
        select
            {{ source_system(system) }} as source_system,
            '{{ entity }}'::text as entity,
            ({{ business_key }})::text as business_key,
            rejection_reason,
            {%- if model in detailed %}
                rejection_detail,
            {%- elif model == 'int_transactions_validated' %}
                case
                    when rejection_reason = 'unknown_account'
                        then 'account_id ' || quote_literal(account_id) || ' is in no valid accounts row'
                    else coalesce(staged_rejection_detail, rejection_reason)
                end as rejection_detail,
            {%- else %}
                rejection_reason as rejection_detail,
            {%- endif %}
            {{ lineage }}
        from {% if model == 'int_transactions_validated' %}transaction_details{% else %}{{ ref(model) }}{% endif %}
        where not is_valid
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    {{ surrogate_key(['source_system', 'entity', 'source_file_name', 'source_line_number', 'source_record_id']) }}
        as rejected_row_key,
    source_system,
    entity,
    business_key,
    rejection_reason,
    rejection_detail,
    source_file_name,
    source_line_number,
    source_record_id,
    delivery_date,
    loaded_at
from rejected
