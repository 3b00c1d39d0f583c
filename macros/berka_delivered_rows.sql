{#-
    The rows of a Berka raw table that belong to the load that counts for their file: the latest one recorded in
    `_file_loads`. Why: the recorded load is the one whose counts were verified, so rows of an interrupted or
    repeated load never double a staged row. Every Berka staging model starts from this.
-#}
{% macro berka_delivered_rows(table_name) -%}
    select delivered.*
    from {{ berka_source(table_name) }} as delivered
    inner join (
        select
            ranked.file_name,
            ranked.load_id
        from (
            select
                file_loads.file_name,
                file_loads.load_id,
                row_number() over (
                    partition by file_loads.file_name
                    order by file_loads.loaded_at desc, file_loads.load_id desc
                ) as load_rank
            from {{ berka_source('_file_loads') }} as file_loads
        ) as ranked
        where ranked.load_rank = 1
    ) as loads
        on delivered._file_name = loads.file_name and delivered._dlt_load_id = loads.load_id
{%- endmacro %}
