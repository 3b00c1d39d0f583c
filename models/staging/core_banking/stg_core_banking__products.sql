with

source as (
    select * from {{ source('core_banking', 'products') }}
),

parsed as (
    select
        {{ clean_text('product_code') }} as product_code,
        {{ clean_text('product_name') }} as product_name,
        {{ clean_code('product_type') }} as product_type,
        {{ clean_iso_code('currency') }} as currency,
        {{ parse_amount('monthly_fee') }} as monthly_fee,
        {{ parse_amount('interest_rate', 6) }} as interest_rate,
        {{ parse_timestamp('updated_at') }} as updated_at,
        {{ clean_text('monthly_fee') }} is not null and {{ parse_amount('monthly_fee') }} is null
        or {{ clean_text('interest_rate') }} is not null and {{ parse_amount('interest_rate', 6) }} is null
            as has_unreadable_number,
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
            missing_mandatory="product_code is null or updated_at is null",
            unknown_currency="currency is not null and " ~ is_unknown_currency('currency'),
            invalid_amount="has_unreadable_number"
        ) }} as rejection_reason
    from parsed
)

select
    product_code,
    product_name,
    product_type,
    currency,
    monthly_fee,
    interest_rate,
    updated_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
