{#-
    Berka accounts, typed; opening date decoded from YYMMDD (19YY).
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'account') }}
),

codes as (
    select
        code_set,
        code,
        english_name,
        warehouse_value,
        channel
    from {{ ref('berka_codes') }}
),

parsed as (
    select
        {{ parse_integer('raw.account_id') }} as account_id,
        {{ parse_integer('raw.district_id') }} as district_id,
        raw.frequency as frequency_code,
        frequency.warehouse_value as statement_frequency,
        {{ parse_yymmdd('raw.date') }} as opened_on,
        {{ is_unreadable('raw.account_id', parse_integer('raw.account_id')) }}
        or {{ is_unreadable('raw.district_id', parse_integer('raw.district_id')) }} as has_unreadable_integer,
        {{ is_unreadable('raw.date', parse_yymmdd('raw.date')) }} as has_unreadable_date,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
    left join codes as frequency
        on frequency.code_set = 'account_frequency' and raw.frequency = frequency.code
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_integer",
            invalid_date="has_unreadable_date",
            missing_mandatory="account_id is null or district_id is null or opened_on is null"
        ) }} as rejection_reason
    from parsed
)

select
    account_id,
    district_id,
    frequency_code,
    statement_frequency,
    opened_on,
    'CZK'::text as currency,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
