{#-
    Schemas are named by layer (staging, intermediate, marts, reference, snapshots), not prefixed with the target
    schema: every environment is a separate database. The marts' schema is a candidate (dbt_project.yml); analysts
    query the published views of schema `marts`.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
