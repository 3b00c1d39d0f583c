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
        {{ clean_text('reported_on') }} is not null and {{ parse_date('reported_on') }} is null
            as has_unreadable_date,
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
            invalid_date="has_unreadable_date",
            missing_mandatory="transaction_id is null or label is null or reported_on is null",
            unknown_code="label not in ('fraud', 'genuine')"
        ) }} as rejection_reason
    from parsed
)

select
    transaction_id,
    label,
    fraud_type,
    reported_on,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
