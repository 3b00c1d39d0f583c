with

source as (
    select * from {{ source('bank_api', 'fx_rates') }}
),

parsed as (
    select
        rate_date::date as rate_date,
        {{ clean_iso_code('currency::text') }} as currency,
        rate_per_eur::numeric(18, 6) as rate_per_eur,
        published_at::timestamp as published_at,
        _dlt_id as record_id,
        _dlt_load_id as load_id
    from source
),

flagged as (
    select
        *,
        {{ rejection_reason(
            missing_mandatory="rate_date is null or currency is null or rate_per_eur is null",
            unknown_currency=is_unknown_currency('currency'),
            out_of_range="rate_per_eur <= 0"
        ) }} as rejection_reason
    from parsed
)

select
    rate_date,
    currency,
    rate_per_eur,
    published_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    record_id,
    load_id
from flagged
