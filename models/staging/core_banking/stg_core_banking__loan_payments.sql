{#- Value checks and reasons: macros/value_checks.sql; a payment_id delivered again with other content is a
    conflicting_duplicate (every version rejected). -#}
{%- set problems = ['installment_no_problem', 'amount_problem', 'paid_on_problem', 'file_name_problem',
    'text_length_problem'] -%}

with

source as (
    select
        delivered.*,
        iso.minor_units as currency_minor_units
    from {{ source('core_banking', 'loan_payments') }} as delivered
    left join {{ ref('iso_currencies') }} as iso on {{ clean_iso_code('delivered.currency') }} = iso.currency_code
),

parsed as (
    select
        {{ clean_text('payment_id') }} as payment_id,
        {{ clean_text('loan_id') }} as loan_id,
        {{ parse_integer('installment_no') }} as installment_no,
        {{ parse_date('paid_on') }} as paid_on,
        {{ parse_amount('amount') }} as amount,
        {{ clean_iso_code('currency') }} as currency,
        {{ integer_problem('installment_no') }} as installment_no_problem,
        {{ amount_problem('amount', minor_units='currency_minor_units') }}
            as amount_problem,
        {{ date_problem('paid_on') }} as paid_on_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('loan_payments') }} as text_length_problem,
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
            missing_mandatory="payment_id is null or loan_id is null or paid_on is null or amount is null
                or currency is null",
            unknown_currency=is_unknown_currency('currency'),
            future_date="paid_on > delivery_date"
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem('payment_id', ['loan_id', 'installment_no', 'paid_on', 'amount', 'currency']) }}
        ) as rejection_reason
    from checked
)

select
    payment_id,
    loan_id,
    installment_no,
    paid_on,
    amount,
    currency,
    rejection_reason,
    rejection_reason is null as is_valid,
    {{ rejection_detail('rejection_reason', problems, notes={
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'future_date': "'paid_on ' || paid_on || ' is after the delivery date ' || delivery_date",
        'conflicting_duplicate': "'payment_id ' || quote_literal(payment_id)
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
