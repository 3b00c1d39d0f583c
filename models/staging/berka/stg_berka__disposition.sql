{#-
    Rights of clients on accounts (disp.asc).
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'disp') }}
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
        {{ parse_integer('raw.disp_id') }} as disp_id,
        {{ parse_integer('raw.client_id') }} as client_id,
        {{ parse_integer('raw.account_id') }} as account_id,
        raw.type as disposition_type_code,
        disposition_type.warehouse_value as disposition_type,
        {{ is_unreadable('raw.disp_id', parse_integer('raw.disp_id')) }}
        or {{ is_unreadable('raw.client_id', parse_integer('raw.client_id')) }}
        or {{ is_unreadable('raw.account_id', parse_integer('raw.account_id')) }} as has_unreadable_integer,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
    left join codes as disposition_type
        on disposition_type.code_set = 'disposition_type' and raw.type = disposition_type.code
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_integer",
            missing_mandatory="disp_id is null or client_id is null or account_id is null"
        ) }} as rejection_reason
    from parsed
)

select
    disp_id,
    client_id,
    account_id,
    disposition_type_code,
    disposition_type,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
