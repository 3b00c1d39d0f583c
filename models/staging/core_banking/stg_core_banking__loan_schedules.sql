{#- Value checks and reasons: macros/value_checks.sql. A schedule re-delivered later replaces the earlier one
    (int_loan_schedules_deduplicated); two different installments under one key in the same delivery are a
    conflicting_duplicate (both rows rejected). The schedule has no currency: amounts keep 2 decimals. -#}
{%- set problems = ['installment_no_problem', 'principal_due_problem', 'interest_due_problem', 'due_date_problem',
    'file_name_problem', 'text_length_problem'] -%}

with

source as (
    select * from {{ source('core_banking', 'loan_schedules') }}
),

parsed as (
    select
        {{ clean_text('loan_id') }} as loan_id,
        {{ parse_integer('installment_no') }} as installment_no,
        {{ parse_date('due_date') }} as due_date,
        {{ parse_amount('principal_due') }} as principal_due,
        {{ parse_amount('interest_due') }} as interest_due,
        {{ integer_problem('installment_no') }} as installment_no_problem,
        {{ amount_problem('principal_due') }} as principal_due_problem,
        {{ amount_problem('interest_due') }} as interest_due_problem,
        {{ date_problem('due_date') }} as due_date_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('loan_schedules') }} as text_length_problem,
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
            missing_mandatory="loan_id is null or installment_no is null or due_date is null or principal_due is null"
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem(['loan_id', 'installment_no', 'delivery_date'],
                ['due_date', 'principal_due', 'interest_due']) }}
        ) as rejection_reason
    from checked
)

select
    loan_id,
    installment_no,
    due_date,
    principal_due,
    coalesce(interest_due, 0)::numeric(18, 2) as interest_due,
    rejection_reason,
    rejection_reason is null as is_valid,
    {{ rejection_detail('rejection_reason', problems, notes={
        'conflicting_duplicate': "'installment ' || installment_no || ' of loan ' || quote_literal(loan_id)
            || ' is delivered twice on ' || delivery_date || ' with different content'",
    }) }} as rejection_detail,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
