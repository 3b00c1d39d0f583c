{#-
    Schemas are named by layer (staging, intermediate, marts, reference, snapshots), not prefixed with the target
    schema: analysts query `marts.fact_transactions`, and every environment is a separate database.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
