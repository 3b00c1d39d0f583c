with

source as (
    select * from {{ source('core_banking', 'loan_payments') }}
),

parsed as (
    select
        {{ clean_text('payment_id') }} as payment_id,
        {{ clean_text('loan_id') }} as loan_id,
        {{ parse_integer('installment_no') }} as installment_no,
        {{ parse_date('paid_on') }} as paid_on,
        {{ parse_amount('amount') }} as amount,
        {{ clean_iso_code('currency') }} as currency,
        {{ clean_text('amount') }} is not null and {{ parse_amount('amount') }} is null
        or {{ clean_text('installment_no') }} is not null and {{ parse_integer('installment_no') }} is null
            as has_unreadable_number,
        {{ clean_text('paid_on') }} is not null and {{ parse_date('paid_on') }} is null as has_unreadable_date,
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
            missing_mandatory="payment_id is null or loan_id is null or paid_on is null or amount is null
                or currency is null",
            unknown_currency=is_unknown_currency('currency'),
            future_date="paid_on > delivery_date"
        ) }} as rejection_reason
    from parsed
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
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
