with

source as (
    select * from {{ source('core_banking', 'clients') }}
),

parsed as (
    select
        {{ clean_text('client_id') }} as client_id,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ parse_date('birth_date') }} as birth_date,
        {{ clean_text('national_id') }} as national_id,
        lower({{ clean_text('email') }}) as email,
        {{ clean_text('phone') }} as phone,
        {{ clean_text('street') }} as street,
        {{ clean_text('city') }} as city,
        {{ clean_text('postal_code') }} as postal_code,
        {{ clean_iso_code('country') }} as country,
        {{ clean_code('segment') }} as segment,
        {{ parse_integer('risk_rating') }} as risk_rating,
        {{ clean_code('kyc_status') }} as kyc_status,
        {{ parse_date('onboarded_on') }} as onboarded_on,
        {{ parse_timestamp('updated_at') }} as updated_at,
        {{ clean_text('birth_date') }} is not null and {{ parse_date('birth_date') }} is null
        or {{ clean_text('onboarded_on') }} is not null and {{ parse_date('onboarded_on') }} is null
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
            invalid_date="has_unreadable_date",
            missing_mandatory="client_id is null or updated_at is null"
        ) }} as rejection_reason
    from parsed
)

select
    client_id,
    first_name,
    last_name,
    birth_date,
    national_id,
    email,
    phone,
    street,
    city,
    postal_code,
    country,
    segment,
    risk_rating,
    kyc_status,
    onboarded_on,
    updated_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
