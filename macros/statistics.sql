{#-
    Post-hook of every model: a table dbt just (re)built gets its planner statistics at once.

    Why: dbt builds a table under a temporary name and swaps it in, so the new table has no statistics until
    autovacuum gets round to it; a test or model that reads it in the meantime is planned as if it were empty
    (the balance invariant of a second night ran for minutes on nested loops). Views have nothing to analyze.
-#}
{% macro analyze_relation() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
