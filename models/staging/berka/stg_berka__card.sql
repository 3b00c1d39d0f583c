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
    from {{ berka_source('card') }} as delivered
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
    raw.card_id::integer as card_id,
    raw.disp_id::integer as disp_id,
    raw.type as card_type_code,
    card_type.warehouse_value as card_type,
    -- issued is 'YYMMDD hh:mm:ss'; the year is 19YY
    to_timestamp('19' || raw.issued, 'YYYYMMDD HH24:MI:SS')::timestamp as issued_at,
    make_date(
        1900 + substr(raw.issued, 1, 2)::integer, substr(raw.issued, 3, 2)::integer, substr(raw.issued, 5, 2)::integer
    ) as issued_on,
    raw._file_name as source_file,
    raw._line_number as source_line
from raw
left join codes as card_type
    on card_type.code_set = 'card_type' and raw.type = card_type.code
