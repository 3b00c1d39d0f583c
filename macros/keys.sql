{#-
    Surrogate keys: md5 of the natural key's parts joined with '|' (NULL spelled out so ('a', NULL) and
    (NULL, 'a') differ). Every dimension also holds an "unknown" member whose key is unknown_key(), so a fact
    row whose reference is missing keeps its measures instead of disappearing in an inner join.
-#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|'
    {%- for column in columns %}, coalesce(cast({{ column }} as text), '_null_'){% endfor -%}
    ))
{%- endmacro %}

{% macro unknown_key() -%}'-1'{%- endmacro %}

{#- Date dimension key: integer YYYYMMDD, -1 for an unknown date. -#}
{% macro date_key(expr) -%}
    coalesce(to_char({{ expr }}, 'YYYYMMDD')::integer, -1)
{%- endmacro %}

