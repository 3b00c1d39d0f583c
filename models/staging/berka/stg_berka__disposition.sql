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
    from {{ berka_source('disp') }} as delivered
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
    raw.disp_id::integer as disp_id,
    raw.client_id::integer as client_id,
    raw.account_id::integer as account_id,
    raw.type as disposition_type_code,
    disposition_type.warehouse_value as disposition_type,
    raw._file_name as source_file,
    raw._line_number as source_line
from raw
left join codes as disposition_type
    on disposition_type.code_set = 'disposition_type' and raw.type = disposition_type.code
