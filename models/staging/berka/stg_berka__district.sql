with

loads as (
    -- the load that counts for each file: the latest recorded in _file_loads (re-runs never double a row)
    select
        file_name,
        load_id
    from (
        select
            file_name,
            load_id,
            row_number() over (partition by file_name order by loaded_at desc, load_id desc) as load_rank
        from {{ berka_source('_file_loads') }}
    ) as ranked
    where load_rank = 1
),

raw as (
    select delivered.*
    from {{ berka_source('district') }} as delivered
    inner join loads
        on delivered._file_name = loads.file_name and delivered._dlt_load_id = loads.load_id
)

-- `?` marks a missing value in the delivered file
select
    raw.a1::integer as district_id,
    raw.a2 as district_name,
    raw.a3 as region,
    nullif(raw.a4, '?')::integer as inhabitants,
    nullif(raw.a5, '?')::integer as municipalities_under_500,
    nullif(raw.a6, '?')::integer as municipalities_500_1999,
    nullif(raw.a7, '?')::integer as municipalities_2000_9999,
    nullif(raw.a8, '?')::integer as municipalities_over_10000,
    nullif(raw.a9, '?')::integer as cities,
    nullif(raw.a10, '?')::numeric(6, 1) as urban_inhabitants_pct,
    nullif(raw.a11, '?')::integer as average_salary,
    nullif(raw.a12, '?')::numeric(6, 2) as unemployment_rate_1995,
    nullif(raw.a13, '?')::numeric(6, 2) as unemployment_rate_1996,
    nullif(raw.a14, '?')::integer as entrepreneurs_per_1000,
    nullif(raw.a15, '?')::integer as crimes_1995,
    nullif(raw.a16, '?')::integer as crimes_1996,
    raw._file_name as source_file,
    raw._line_number as source_line
from raw
