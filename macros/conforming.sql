{#-
    Conforming the sources into one shape, and reading the shape back point in time.

    union_sources(models, columns): every model (one per source system, each already in the entity's shape) with the
    same columns in the same order, stacked with union all. A new source system adds its conforming model to the list.
-#}
{% macro union_sources(models, columns) -%}
    {%- for model in models %}
        select
            {{ columns | join(',\n            ') }}
        from {{ ref(model) }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    point_in_time(dimension, key, fact_key, at, fact_system): the join condition that picks, from a type-2 dimension,
    the version of the fact's business key (same source system) valid at `at`: valid_from <= at < valid_to. Every
    dimension covers all time for a key (its first version starts on 1900-01-01, its last ends on 9999-12-31), so a
    known key always finds exactly one version.
-#}
{% macro point_in_time(dimension, key, fact_key, at, fact_system) -%}
    {{ fact_system }} = {{ dimension }}.source_system
    and {{ fact_key }} = {{ dimension }}.{{ key }}
    and {{ at }} >= {{ dimension }}.valid_from
    and {{ at }} < {{ dimension }}.valid_to
{%- endmacro %}

{#-
    scd2_validity(key, changed_at): the type-2 columns of an entity's versions, one row per (source_system, key,
    changed_at): version_number (1 = oldest), valid_from (the change time; 1900-01-01 for the first version, so
    facts older than the first known version still find one), valid_to (the next version's change time, 9999-12-31
    for the current one) and is_current. A version is valid in [valid_from, valid_to), without gap or overlap.
-#}
{% macro scd2_validity(key, changed_at) -%}
    {%- set version_window = 'over (partition by source_system, ' ~ key ~ ' order by ' ~ changed_at ~ ')' -%}
    row_number() {{ version_window }}::integer as version_number,
    (case
        when lag({{ changed_at }}) {{ version_window }} is null then '1900-01-01'::timestamp
        else {{ changed_at }}
    end)::timestamp as valid_from,
    coalesce(lead({{ changed_at }}) {{ version_window }}, '9999-12-31'::timestamp)::timestamp as valid_to,
    (lead({{ changed_at }}) {{ version_window }} is null)::boolean as is_current
{%- endmacro %}

{#-
    versioned_entity(key, version_key, models, columns): every version of an entity, one shape for every source
    system, with its type-2 validity. Each model (one per source system) delivers the entity's `columns` plus
    changed_at (when the version started at the source), one row per (source_system, key, changed_at); they are
    stacked (union_sources), keyed by `version_key` (md5 of source_system, key, changed_at) and given
    version_number, valid_from, valid_to and is_current (scd2_validity). A new source adds its model to the list.
-#}
{% macro versioned_entity(key, version_key, models, columns) -%}
    with

    versions as (
        {{ union_sources(models, columns + ['changed_at']) }}
    )

    select
        {{ surrogate_key(['source_system', key, 'changed_at']) }} as {{ version_key }},
        *,
        {{ scd2_validity(key, 'changed_at') }}
    from versions
{%- endmacro %}
