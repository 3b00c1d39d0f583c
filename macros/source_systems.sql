{#-
    The source systems the warehouse reads. Every row carries its system in `source_system`; models name a system
    through source_system('<name>') instead of spelling the literal, so adding a system means adding it here.
-#}
{% macro source_system(name) -%}
    {%- set known = ['core_banking', 'berka'] -%}
    {%- if name not in known -%}
        {{ exceptions.raise_compiler_error("unknown source system '" ~ name ~ "' (known: " ~ known | join(', ') ~ ")") }}
    {%- endif -%}
    '{{ name }}'::text
{%- endmacro %}
