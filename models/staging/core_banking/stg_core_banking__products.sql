{#- Value checks and reasons: macros/value_checks.sql; one version (product_code, updated_at) delivered twice
    with other content is a conflicting_duplicate (both rows rejected). -#}
{%- set problems = ['monthly_fee_problem', 'interest_rate_problem', 'updated_at_problem', 'file_name_problem',
    'text_length_problem'] -%}

with

source as (
    select
        delivered.*,
        iso.minor_units as currency_minor_units
    from {{ source('core_banking', 'products') }} as delivered
    left join {{ ref('iso_currencies') }} as iso on {{ clean_iso_code('delivered.currency') }} = iso.currency_code
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
        {{ amount_problem('monthly_fee', minor_units='currency_minor_units') }}
            as monthly_fee_problem,
        {{ amount_problem('interest_rate', 6) }} as interest_rate_problem,
        {{ timestamp_problem('updated_at') }} as updated_at_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('products') }} as text_length_problem,
        _file_name as source_file_name,
        _line_number::bigint as source_line_number,
        {{ delivery_date_from_file('_file_name') }} as delivery_date,
        _loaded_at::timestamptz as loaded_at
    from source
),

checked as (
    select
        *,
        {{ rejection_reason(
            problems=problems,
            missing_mandatory="product_code is null or updated_at is null",
            unknown_currency="currency is not null and " ~ is_unknown_currency('currency')
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem(['product_code', 'updated_at'], ['product_name', 'product_type', 'currency',
                'monthly_fee', 'interest_rate']) }}
        ) as rejection_reason
    from checked
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
    {{ rejection_detail('rejection_reason', problems, notes={
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'conflicting_duplicate': "'product ' || quote_literal(product_code) || ' as of ' || updated_at
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
