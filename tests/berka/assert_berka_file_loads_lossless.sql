-- Every Czech file in the ledger: lines read = rows in raw + lines quarantined, and the raw layer holds exactly
-- the load the ledger names for it (one load per file). Returns the files (or stray loads) where a count disagrees.
{{ config(group='bank_warehouse') }}

{% set tables = ['account', 'client', 'disp', 'card', 'loan', 'order', 'district', 'trans'] %}
with

loads as (
    select
        file_loads.file_name,
        file_loads.load_id,
        file_loads.lines_in,
        file_loads.rows_loaded,
        file_loads.rows_quarantined
    from {{ source('raw_berka', '_file_loads') }} as file_loads
),

raw_counts as (
    {% for table in tables %}
        select
            delivered._file_name as file_name,
            delivered._dlt_load_id as load_id,
            count(*) as in_raw
        from {{ source('raw_berka', table) }} as delivered
        group by 1, 2
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

quarantined as (
    select
        quarantine.file_name,
        quarantine._dlt_load_id as load_id,
        count(*) as in_quarantine
    from {{ source('raw_berka', '_quarantine') }} as quarantine
    group by 1, 2
),

counted as (
    select
        coalesce(loads.file_name, raw_counts.file_name) as file_name,
        coalesce(loads.load_id, raw_counts.load_id) as load_id,
        loads.lines_in,
        loads.rows_loaded,
        loads.rows_quarantined,
        coalesce(raw_counts.in_raw, 0) as in_raw
    from loads
    full outer join raw_counts on loads.file_name = raw_counts.file_name and loads.load_id = raw_counts.load_id
)

select
    counted.*,
    coalesce(quarantined.in_quarantine, 0) as in_quarantine
from counted
full outer join quarantined on counted.file_name = quarantined.file_name and counted.load_id = quarantined.load_id
where
    counted.lines_in is null
    or counted.lines_in <> counted.rows_loaded + counted.rows_quarantined
    or counted.in_raw <> counted.rows_loaded
    or coalesce(quarantined.in_quarantine, 0) <> counted.rows_quarantined
