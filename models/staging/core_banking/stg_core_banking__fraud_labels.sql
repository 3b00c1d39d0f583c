{#- Value checks and reasons: macros/value_checks.sql; one transaction's label reported twice on the same day with
    other content is a conflicting_duplicate (both rows rejected). -#}
{%- set problems = ['reported_on_problem', 'file_name_problem', 'text_length_problem'] -%}

with

source as (
    select * from {{ source('core_banking', 'fraud_labels') }}
),

parsed as (
    select
        {{ clean_text('transaction_id') }} as transaction_id,
        {{ clean_code('label') }} as label,
        {{ clean_code('fraud_type') }} as fraud_type,
        {{ parse_date('reported_on') }} as reported_on,
        {{ date_problem('reported_on') }} as reported_on_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('fraud_labels') }} as text_length_problem,
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
            missing_mandatory="transaction_id is null or label is null or reported_on is null",
            unknown_code="label not in ('fraud', 'genuine')"
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem(['transaction_id', 'reported_on'], ['label', 'fraud_type']) }}
        ) as rejection_reason
    from checked
)

select
    transaction_id,
    label,
    fraud_type,
    reported_on,
    rejection_reason,
    rejection_reason is null as is_valid,
    {{ rejection_detail('rejection_reason', problems, notes={
        'unknown_code': "'label ' || quote_literal(label) || ' is neither fraud nor genuine'",
        'conflicting_duplicate': "'the label of ' || transaction_id || ' reported on ' || reported_on
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
