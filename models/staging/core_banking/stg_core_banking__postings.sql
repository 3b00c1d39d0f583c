{#- Value checks and reasons: macros/value_checks.sql; a posting_id delivered again with other content is a
    conflicting_duplicate (every version rejected). -#}
{%- set problems = ['amount_problem', 'posting_date_problem', 'file_name_problem', 'text_length_problem'] -%}

with

source as (
    select
        delivered.*,
        iso.minor_units as currency_minor_units
    from {{ source('core_banking', 'postings') }} as delivered
    left join {{ ref('iso_currencies') }} as iso on {{ clean_iso_code('delivered.currency') }} = iso.currency_code
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
        {{ amount_problem('amount', minor_units='currency_minor_units') }}
            as amount_problem,
        {{ date_problem('posting_date') }} as posting_date_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('postings') }} as text_length_problem,
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
            missing_mandatory="posting_id is null or account_id is null or posting_date is null or amount is null
                or currency is null or posting_type is null",
            unknown_currency=is_unknown_currency('currency'),
            future_date="posting_date > delivery_date"
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem('posting_id', ['account_id', 'posting_date', 'posting_type', 'amount', 'currency',
                'description']) }}
        ) as rejection_reason
    from checked
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
    {{ rejection_detail('rejection_reason', problems, notes={
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'future_date': "'posting_date ' || posting_date || ' is after the delivery date ' || delivery_date",
        'conflicting_duplicate': "'posting_id ' || quote_literal(posting_id)
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
