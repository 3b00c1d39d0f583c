-- Every file load that counts: lines read = rows in raw + lines quarantined, and the raw table holds exactly
-- rows_loaded rows for that load. Returns the files where any count disagrees.
{{ config(group='bank_warehouse') }}

{% set tables = ['account', 'client', 'disp', 'card', 'loan', 'order', 'district', 'trans'] %}
with

loads as (
    select
        file_loads.file_name,
        file_loads.entity,
        file_loads.load_id,
        file_loads.lines_in,
        file_loads.rows_loaded,
        file_loads.rows_quarantined
    from {{ berka_source('_file_loads') }} as file_loads
),

raw_counts as (
    {% for table in tables %}
        select
            delivered._file_name as file_name,
            delivered._dlt_load_id as load_id,
            count(*) as in_raw
        from {{ berka_source(table) }} as delivered
        group by 1, 2
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

quarantined as (
    select
        quarantine.file_name,
        quarantine._dlt_load_id as load_id,
        count(*) as in_quarantine
    from {{ berka_source('_quarantine') }} as quarantine
    group by 1, 2
)

select
    loads.*,
    raw_counts.in_raw,
    quarantined.in_quarantine
from loads
left join raw_counts on loads.file_name = raw_counts.file_name and loads.load_id = raw_counts.load_id
left join quarantined on loads.file_name = quarantined.file_name and loads.load_id = quarantined.load_id
where
    loads.lines_in <> loads.rows_loaded + loads.rows_quarantined
    or coalesce(raw_counts.in_raw, 0) <> loads.rows_loaded
    or coalesce(quarantined.in_quarantine, 0) <> loads.rows_quarantined
