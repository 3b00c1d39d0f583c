with

source as (
    select * from {{ source('core_banking', 'balances') }}
),

parsed as (
    select
        {{ clean_text('account_id') }} as account_id,
        {{ parse_date('balance_date') }} as balance_date,
        {{ parse_amount('closing_balance') }} as closing_balance,
        {{ clean_iso_code('currency') }} as currency,
        {{ clean_text('closing_balance') }} is not null and {{ parse_amount('closing_balance') }} is null
            as has_unreadable_amount,
        {{ clean_text('balance_date') }} is not null and {{ parse_date('balance_date') }} is null
            as has_unreadable_date,
        _file_name as source_file_name,
        _line_number::bigint as source_line_number,
        {{ delivery_date_from_file('_file_name') }} as delivery_date,
        _loaded_at::timestamptz as loaded_at
    from source
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_amount="has_unreadable_amount",
            invalid_date="has_unreadable_date",
            missing_mandatory="account_id is null or balance_date is null or closing_balance is null",
            unknown_currency=is_unknown_currency('currency')
        ) }} as rejection_reason
    from parsed
)

select
    account_id,
    balance_date,
    closing_balance,
    currency,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
