{#-
    Cards issued to dispositions, issue timestamp decoded from 'YYMMDD hh:mm:ss' (19YY).
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'card') }}
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
        {{ parse_integer('raw.card_id') }} as card_id,
        {{ parse_integer('raw.disp_id') }} as disp_id,
        raw.type as card_type_code,
        card_type.warehouse_value as card_type,
        {{ parse_yymmdd_time('raw.issued') }} as issued_at,
        {{ is_unreadable('raw.card_id', parse_integer('raw.card_id')) }}
        or {{ is_unreadable('raw.disp_id', parse_integer('raw.disp_id')) }} as has_unreadable_integer,
        {{ is_unreadable('raw.issued', parse_yymmdd_time('raw.issued')) }} as has_unreadable_date,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
    left join codes as card_type
        on card_type.code_set = 'card_type' and raw.type = card_type.code
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_integer",
            invalid_date="has_unreadable_date",
            missing_mandatory="card_id is null or disp_id is null or issued_at is null"
        ) }} as rejection_reason
    from parsed
)

select
    card_id,
    disp_id,
    card_type_code,
    card_type,
    issued_at,
    issued_at::date as issued_on,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
