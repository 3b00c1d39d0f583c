with

source as (
    select * from {{ source('core_banking', 'postings') }}
),

parsed as (
    select
        {{ clean_text('posting_id') }} as posting_id,
        {{ clean_text('account_id') }} as account_id,
        {{ parse_date('posting_date') }} as posting_date,
        {{ clean_code('posting_type') }} as posting_type,
        {{ parse_amount('amount') }} as amount,
        {{ clean_iso_code('currency') }} as currency,
        {{ clean_text('description') }} as description,
        {{ clean_text('amount') }} is not null and {{ parse_amount('amount') }} is null as has_unreadable_amount,
        {{ clean_text('posting_date') }} is not null and {{ parse_date('posting_date') }} is null
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
            missing_mandatory="posting_id is null or account_id is null or posting_date is null or amount is null
                or currency is null or posting_type is null",
            unknown_currency=is_unknown_currency('currency'),
            future_date="posting_date > delivery_date"
        ) }} as rejection_reason
    from parsed
)

select
    posting_id,
    account_id,
    posting_date,
    posting_type,
    amount,
    currency,
    description,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
