{#-
    Berka clients; birth_number (YYMMDD, month + 50 for women) decoded to birth date and sex.
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'client') }}
),

parsed as (
    select
        {{ parse_integer('raw.client_id') }} as client_id,
        raw.birth_number,
        {{ parse_integer('substr(trim(raw.birth_number), 3, 2)') }} > 50 as is_female,
        {{ parse_integer('raw.district_id') }} as district_id,
        {{ is_unreadable('raw.client_id', parse_integer('raw.client_id')) }}
        or {{ is_unreadable('raw.district_id', parse_integer('raw.district_id')) }} as has_unreadable_integer,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
),

decoded as (
    select
        *,
        -- women have 50 added to the month of birth
        case
            when is_female then {{ parse_yymmdd('birth_number', month_offset=50) }}
            else {{ parse_yymmdd('birth_number') }}
        end as birth_date
    from parsed
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_integer",
            invalid_date=is_unreadable('birth_number', 'birth_date'),
            missing_mandatory="client_id is null or district_id is null or birth_date is null"
        ) }} as rejection_reason
    from decoded
)

select
    client_id,
    birth_number,
    birth_date,
    case when is_female then 'F' when is_female is not null then 'M' end as sex,
    district_id,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
