{#-
    District demographics (A1-A16); `?` in the file is NULL here.
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'district') }}
),

parsed as (
    -- `?` marks a missing value in the delivered file
    select
        {{ parse_integer('raw.a1') }} as district_id,
        raw.a2 as district_name,
        raw.a3 as region,
        {{ parse_integer("nullif(raw.a4, '?')") }} as inhabitants,
        {{ parse_integer("nullif(raw.a5, '?')") }} as municipalities_under_500,
        {{ parse_integer("nullif(raw.a6, '?')") }} as municipalities_500_1999,
        {{ parse_integer("nullif(raw.a7, '?')") }} as municipalities_2000_9999,
        {{ parse_integer("nullif(raw.a8, '?')") }} as municipalities_over_10000,
        {{ parse_integer("nullif(raw.a9, '?')") }} as cities,
        {{ parse_amount("nullif(raw.a10, '?')", 1) }} as urban_inhabitants_pct,
        {{ parse_integer("nullif(raw.a11, '?')") }} as average_salary,
        {{ parse_amount("nullif(raw.a12, '?')", 2) }} as unemployment_rate_1995,
        {{ parse_amount("nullif(raw.a13, '?')", 2) }} as unemployment_rate_1996,
        {{ parse_integer("nullif(raw.a14, '?')") }} as entrepreneurs_per_1000,
        {{ parse_integer("nullif(raw.a15, '?')") }} as crimes_1995,
        {{ parse_integer("nullif(raw.a16, '?')") }} as crimes_1996,
        {{ is_unreadable('raw.a1', parse_integer('raw.a1')) }}
        or {{ is_unreadable("nullif(raw.a4, '?')", parse_integer("nullif(raw.a4, '?')")) }}
        or {{ is_unreadable("nullif(raw.a5, '?')", parse_integer("nullif(raw.a5, '?')")) }}
        or {{ is_unreadable("nullif(raw.a6, '?')", parse_integer("nullif(raw.a6, '?')")) }}
        or {{ is_unreadable("nullif(raw.a7, '?')", parse_integer("nullif(raw.a7, '?')")) }}
        or {{ is_unreadable("nullif(raw.a8, '?')", parse_integer("nullif(raw.a8, '?')")) }}
        or {{ is_unreadable("nullif(raw.a9, '?')", parse_integer("nullif(raw.a9, '?')")) }}
        or {{ is_unreadable("nullif(raw.a10, '?')", parse_amount("nullif(raw.a10, '?')", 1)) }}
        or {{ is_unreadable("nullif(raw.a11, '?')", parse_integer("nullif(raw.a11, '?')")) }}
        or {{ is_unreadable("nullif(raw.a12, '?')", parse_amount("nullif(raw.a12, '?')", 2)) }}
        or {{ is_unreadable("nullif(raw.a13, '?')", parse_amount("nullif(raw.a13, '?')", 2)) }}
        or {{ is_unreadable("nullif(raw.a14, '?')", parse_integer("nullif(raw.a14, '?')")) }}
        or {{ is_unreadable("nullif(raw.a15, '?')", parse_integer("nullif(raw.a15, '?')")) }}
        or {{ is_unreadable("nullif(raw.a16, '?')", parse_integer("nullif(raw.a16, '?')")) }} as has_unreadable_number,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_number",
            missing_mandatory="district_id is null"
        ) }} as rejection_reason
    from parsed
)

select
    district_id,
    district_name,
    region,
    inhabitants,
    municipalities_under_500,
    municipalities_500_1999,
    municipalities_2000_9999,
    municipalities_over_10000,
    cities,
    urban_inhabitants_pct,
    average_salary,
    unemployment_rate_1995,
    unemployment_rate_1996,
    entrepreneurs_per_1000,
    crimes_1995,
    crimes_1996,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
