{#- Value checks and reasons: macros/value_checks.sql; one version (loan_id, updated_at) delivered twice with other
    content is a conflicting_duplicate (both rows rejected). A principal beyond its product's plausibility bound is
    implausible_amount (var implausible_amount_action 'flag' keeps it valid). -#}
{%- set problems = ['principal_problem', 'annual_rate_problem', 'term_months_problem', 'start_date_problem',
    'updated_at_problem', 'file_name_problem', 'text_length_problem'] -%}

with

source as (
    select
        delivered.*,
        iso.minor_units as currency_minor_units
    from {{ source('core_banking', 'loans') }} as delivered
    left join {{ ref('iso_currencies') }} as iso on {{ clean_iso_code('delivered.currency') }} = iso.currency_code
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
        {{ amount_problem('principal', minor_units='currency_minor_units') }}
            as principal_problem,
        {{ amount_problem('annual_rate', 6) }} as annual_rate_problem,
        {{ integer_problem('term_months') }} as term_months_problem,
        {{ date_problem('start_date') }} as start_date_problem,
        {{ timestamp_problem('updated_at') }} as updated_at_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('loans') }} as text_length_problem,
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
            missing_mandatory="loan_id is null or client_id is null or principal is null or currency is null
                or updated_at is null",
            unknown_currency=is_unknown_currency('currency'),
            implausible_amount=is_implausible_amount('principal', 'product_code')
                if implausible_amount_action() == 'reject' else 'false'
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem(['loan_id', 'updated_at'], ['client_id', 'account_id', 'product_code', 'principal',
                'currency', 'annual_rate', 'term_months', 'start_date', 'status']) }}
        ) as rejection_reason
    from checked
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
    {{ rejection_detail('rejection_reason', problems, notes={
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'implausible_amount': "'principal ' || principal || ' is beyond the plausibility bound ' || "
            ~ plausibility_bound('product_code') ~ " || ' of product ' || coalesce(product_code, '(unknown)')",
        'conflicting_duplicate': "'loan ' || quote_literal(loan_id) || ' as of ' || updated_at
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    coalesce({{ is_implausible_amount('principal', 'product_code') }}, false) as is_implausible_amount,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
