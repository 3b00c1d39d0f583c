{#-
    Amounts beyond their product's plausibility bound that were kept because var implausible_amount_action is
    'flag' (with 'reject', the default, they are rejected rows and this test finds nothing): one row per flagged
    record, for someone to confirm. A warning, not a gate: the value is delivered as is and may be real.
-#}
{{ config(severity='warn', group='bank_warehouse') }}

select
    'transactions' as entity,
    transaction_id as business_key,
    source_file_name,
    source_line_number
from {{ ref('stg_core_banking__transactions') }}
where is_valid and is_implausible_amount

union all

select
    'accounts' as entity,
    account_id as business_key,
    source_file_name,
    source_line_number
from {{ ref('stg_core_banking__accounts') }}
where is_valid and is_implausible_amount

union all

select
    'loans' as entity,
    loan_id as business_key,
    source_file_name,
    source_line_number
from {{ ref('stg_core_banking__loans') }}
where is_valid and is_implausible_amount
