{#-
    Every staged transaction row with its final verdict: the staging checks plus unknown_account (an account_id
    that no valid accounts row names), which needs the accounts and so is decided here, at its place in the house order
    of reasons (macros/rejection_reasons.sql): after the unreadable, missing and invalid_iban values, before
    unknown_currency and future_date.
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
        {{ first_rejection_reason(
            'staged.rejection_reason',
            rejection_reason(unknown_account='known_accounts.account_id is null')
        ) }} as checked_rejection_reason
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
