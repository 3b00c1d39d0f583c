{#-
    The rows of `relation` that win their business key, with rows_delivered (how many valid rows the key had; the
    winner's rows_delivered - 1 were removed as duplicates or older versions) and version_rank (always 1).

    winner names the documented rule:
    - 'latest_version': the highest `version_column` (updated_at, or the column that dates the record) wins; ties,
      exact duplicates included, go to the latest delivery, then the last line;
    - 'latest_delivery': a row re-delivered later replaces the earlier one (latest delivery, then the last line);
    - 'first_delivery': events: the first delivered copy wins (earliest delivery, then file, then line).
    Only valid rows take part (`where is_valid`); rejected rows are listed in int_rejected_rows_unioned.
-#}
{% macro deduplicated(relation, key, winner, version_column='updated_at') -%}
    {%- set latest_line = 'delivery_date desc, source_file_name desc, source_line_number desc' -%}
    {%- set orders = {
        'latest_version': version_column ~ ' desc, ' ~ latest_line,
        'latest_delivery': latest_line,
        'first_delivery': 'delivery_date, source_file_name, source_line_number',
    } -%}
    {%- if winner not in orders -%}
        {{ exceptions.raise_compiler_error("unknown dedup winner '" ~ winner ~ "' (known: " ~ orders.keys() | join(', ') ~ ")") }}
    {%- endif -%}
    {%- set partition = key if key is string else key | join(', ') -%}
    select *
    from (
        select
            *,
            row_number() over (partition by {{ partition }} order by {{ orders[winner] }}) as version_rank,
            count(*) over (partition by {{ partition }})::integer as rows_delivered
        from {{ relation }}
        where is_valid
    ) as ranked
    where version_rank = 1
{%- endmacro %}
