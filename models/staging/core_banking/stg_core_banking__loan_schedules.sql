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
        {{ clean_text('installment_no') }} is not null and {{ parse_integer('installment_no') }} is null
        or {{ clean_text('principal_due') }} is not null and {{ parse_amount('principal_due') }} is null
        or {{ clean_text('interest_due') }} is not null and {{ parse_amount('interest_due') }} is null
            as has_unreadable_number,
        {{ clean_text('due_date') }} is not null and {{ parse_date('due_date') }} is null as has_unreadable_date,
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
            invalid_amount="has_unreadable_number",
            invalid_date="has_unreadable_date",
            missing_mandatory="loan_id is null or installment_no is null or due_date is null or principal_due is null"
        ) }} as rejection_reason
    from parsed
)

select
    loan_id,
    installment_no,
    due_date,
    principal_due,
    coalesce(interest_due, 0)::numeric(18, 2) as interest_due,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
