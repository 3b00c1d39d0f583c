with

source as (
    select * from {{ source('core_banking', 'accounts') }}
),

parsed as (
    select
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('client_id') }} as client_id,
        upper(replace({{ clean_text('iban') }}, ' ', '')) as iban,
        {{ clean_text('product_code') }} as product_code,
        {{ clean_iso_code('currency') }} as currency,
        {{ parse_date('opened_on') }} as opened_on,
        {{ parse_date('closed_on') }} as closed_on,
        {{ clean_code('status') }} as status,
        {{ parse_amount('credit_limit') }} as credit_limit,
        {{ parse_amount('overdraft_limit') }} as overdraft_limit,
        {{ parse_timestamp('updated_at') }} as updated_at,
        {{ clean_text('opened_on') }} is not null and {{ parse_date('opened_on') }} is null
        or {{ clean_text('closed_on') }} is not null and {{ parse_date('closed_on') }} is null
        or {{ clean_text('updated_at') }} is not null and {{ parse_timestamp('updated_at') }} is null
            as has_unreadable_date,
        {{ clean_text('credit_limit') }} is not null and {{ parse_amount('credit_limit') }} is null
        or {{ clean_text('overdraft_limit') }} is not null and {{ parse_amount('overdraft_limit') }} is null
            as has_unreadable_amount,
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
            missing_mandatory="account_id is null or client_id is null or currency is null or updated_at is null",
            invalid_date="has_unreadable_date",
            invalid_amount="has_unreadable_amount",
            unknown_currency=is_unknown_currency('currency'),
            invalid_iban="iban is not null and not " ~ is_valid_iban('iban')
        ) }} as rejection_reason
    from parsed
)

select
    account_id,
    client_id,
    iban,
    product_code,
    currency,
    opened_on,
    closed_on,
    status,
    credit_limit,
    overdraft_limit,
    updated_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
