{#-
    Every staged transaction row with its final verdict: the staging checks plus unknown_account (an account_id
    that no valid accounts row names), which needs the accounts and so is decided here. The contract's order of
    checks is kept: missing_mandatory, invalid_amount, invalid_date and invalid_iban come before
    unknown_account, unknown_currency and future_date after it.
-#}
with

staged as (
    select * from {{ ref('stg_core_banking__transactions') }}
),

known_accounts as (
    select distinct account_id
    from {{ ref('stg_core_banking__accounts') }}
    where is_valid
),

checked as (
    select
        staged.*,
        case
            when staged.rejection_reason in ('missing_mandatory', 'invalid_amount', 'invalid_date', 'invalid_iban')
                then staged.rejection_reason
            when known_accounts.account_id is null then 'unknown_account'
            else staged.rejection_reason
        end as checked_rejection_reason
    from staged
    left join known_accounts on staged.account_id = known_accounts.account_id
)

select
    transaction_id,
    account_id,
    booked_at,
    booked_date,
    value_date,
    amount,
    currency,
    channel,
    mcc,
    merchant,
    counterparty_iban,
    description,
    checked_rejection_reason as rejection_reason,
    checked_rejection_reason is null as is_valid,
    is_late_arrival,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from checked
