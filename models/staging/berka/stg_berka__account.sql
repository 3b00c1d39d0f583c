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
    from {{ berka_source('account') }} as delivered
    inner join loads
        on delivered._file_name = loads.file_name and delivered._dlt_load_id = loads.load_id
),

codes as (
    select
        code_set,
        code,
        english_name,
        warehouse_value,
        channel
    from {{ ref('berka_codes') }}
)

select
    raw.account_id::integer as account_id,
    raw.district_id::integer as district_id,
    raw.frequency as frequency_code,
    frequency.warehouse_value as statement_frequency,
    make_date(1900 + substr(raw.date, 1, 2)::integer, substr(raw.date, 3, 2)::integer, substr(raw.date, 5, 2)::integer)
        as opened_on,
    'CZK'::text as currency,
    raw._file_name as source_file,
    raw._line_number as source_line
from raw
left join codes as frequency
    on frequency.code_set = 'account_frequency' and raw.frequency = frequency.code
