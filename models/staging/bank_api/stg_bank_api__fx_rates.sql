{#- The API's rates arrive typed (dlt: double precision). A rate is taken exactly or its record is rejected: one
    beyond numeric(18, 6) is amount_overflow, one with more than 6 decimals excess_decimals (never rounded); see
    macros/value_checks.sql. -#}
{%- set problems = ['rate_problem', 'text_length_problem'] -%}

with

source as (
    select * from {{ source('bank_api', 'fx_rates') }}
),

parsed as (
    select
        rate_date::date as rate_date,
        {{ clean_iso_code('currency::text') }} as currency,
        {{ parse_amount('rate_per_eur::numeric::text', 6) }} as rate_per_eur,
        published_at::timestamp as published_at,
        {{ amount_problem('rate_per_eur::numeric::text', 6, name='rate_per_eur') }} as rate_problem,
        (case when length(currency::text) > 3
                then 'text_too_long: currency has ' || length(currency::text) || ' characters, the contract allows 3'
        end) as text_length_problem,
        _dlt_id as record_id,
        _dlt_load_id as load_id
    from source
),

flagged as (
    select
        *,
        {{ rejection_reason(
            problems=problems,
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
    {{ rejection_detail('rejection_reason', problems, notes={
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'out_of_range': "'rate_per_eur ' || rate_per_eur || ' is not positive'",
    }) }} as rejection_detail,
    record_id,
    load_id
from flagged
