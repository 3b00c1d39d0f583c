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
    from {{ berka_source('client') }} as delivered
    inner join loads
        on delivered._file_name = loads.file_name and delivered._dlt_load_id = loads.load_id
),

decoded as (
    select
        raw.client_id::integer as client_id,
        raw.birth_number,
        1900 + substr(raw.birth_number, 1, 2)::integer as birth_year,
        substr(raw.birth_number, 3, 2)::integer as coded_month,
        substr(raw.birth_number, 5, 2)::integer as birth_day,
        raw.district_id::integer as district_id,
        raw._file_name,
        raw._line_number
    from raw
)

select
    client_id,
    birth_number,
    -- women have 50 added to the month of birth
    make_date(birth_year, case when coded_month > 50 then coded_month - 50 else coded_month end, birth_day)
        as birth_date,
    case when coded_month > 50 then 'F' else 'M' end as sex,
    district_id,
    _file_name as source_file,
    _line_number as source_line
from decoded
