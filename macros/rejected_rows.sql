{#- The rows a staging model flagged as not loadable, with their reason code; nothing is dropped silently. -#}
{% macro rejected_rows(staging_model) -%}
select * from {{ staging_model }} where not is_valid
{%- endmacro %}
