with

source as (
    select * from {{ source('core_banking', 'loans') }}
),

parsed as (
    select
        {{ clean_text('loan_id') }} as loan_id,
        {{ clean_text('client_id') }} as client_id,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('product_code') }} as product_code,
        {{ parse_amount('principal') }} as principal,
        {{ clean_iso_code('currency') }} as currency,
        {{ parse_amount('annual_rate', 6) }} as annual_rate,
        {{ parse_integer('term_months') }} as term_months,
        {{ parse_date('start_date') }} as start_date,
        {{ clean_code('status') }} as status,
        {{ parse_timestamp('updated_at') }} as updated_at,
        {{ clean_text('principal') }} is not null and {{ parse_amount('principal') }} is null
        or {{ clean_text('annual_rate') }} is not null and {{ parse_amount('annual_rate', 6) }} is null
        or {{ clean_text('term_months') }} is not null and {{ parse_integer('term_months') }} is null
            as has_unreadable_number,
        {{ clean_text('start_date') }} is not null and {{ parse_date('start_date') }} is null
        or {{ clean_text('updated_at') }} is not null and {{ parse_timestamp('updated_at') }} is null
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
            missing_mandatory="loan_id is null or client_id is null or principal is null or currency is null
                or updated_at is null",
            invalid_amount="has_unreadable_number",
            invalid_date="has_unreadable_date",
            unknown_currency=is_unknown_currency('currency')
        ) }} as rejection_reason
    from parsed
)

select
    loan_id,
    client_id,
    account_id,
    product_code,
    principal,
    currency,
    annual_rate,
    term_months,
    start_date,
    status,
    updated_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
