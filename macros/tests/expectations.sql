{#-
    Expectation-style generic tests. Names and arguments follow dbt-expectations, so a project that later adds
    that package (or reads its documentation) finds the same tests; the implementations are the project's own.
    Every test returns the offending rows (or one row describing the mismatch): zero rows = pass.
-#}

{% macro _expectation_where(row_condition) -%}
    {%- if row_condition %} where {{ row_condition }}{% endif -%}
{%- endmacro %}

{% test expect_column_values_to_not_be_null(model, column_name, row_condition=None) %}
select * from {{ model }}
where {{ column_name }} is null
{%- if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_be_unique(model, column_name, row_condition=None) %}
select {{ column_name }}, count(*) as copies
from {{ model }}{{ _expectation_where(row_condition) }}
group by {{ column_name }}
having count(*) > 1
{% endtest %}

{% test expect_column_values_to_be_between(model, column_name, min_value=None, max_value=None, row_condition=None, strictly=False) %}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("expect_column_values_to_be_between needs min_value or max_value") }}
{%- endif -%}
{%- set lower_op = '>' if strictly else '>=' -%}
{%- set upper_op = '<' if strictly else '<=' -%}
select * from {{ model }}
where {{ column_name }} is not null
    {%- if row_condition %} and ({{ row_condition }}){% endif %}
    and not (
        true
        {%- if min_value is not none %} and {{ column_name }} {{ lower_op }} {{ min_value }}{% endif %}
        {%- if max_value is not none %} and {{ column_name }} {{ upper_op }} {{ max_value }}{% endif %}
    )
{% endtest %}

{% test expect_column_values_to_be_in_set(model, column_name, value_set, quote_values=True, row_condition=None) %}
select * from {{ model }}
where {{ column_name }} is not null
    {%- if row_condition %} and ({{ row_condition }}){% endif %}
    and {{ column_name }} not in (
        {%- for value in value_set -%}
            {%- if quote_values %}'{{ value | replace("'", "''") }}'{% else %}{{ value }}{% endif -%}
            {%- if not loop.last %}, {% endif -%}
        {%- endfor -%}
    )
{% endtest %}

{% test expect_column_values_to_match_regex(model, column_name, regex, row_condition=None, is_raw=False, flags="") %}
{%- set operator = '~*' if 'i' in flags else '~' -%}
select * from {{ model }}
where {{ column_name }} is not null
    {%- if row_condition %} and ({{ row_condition }}){% endif %}
    and not ({{ column_name }}::text {{ operator }} '{{ regex | replace("'", "''") }}')
{% endtest %}

{% test expect_column_pair_values_A_to_be_greater_than_B(model, column_A, column_B, or_equal=False, row_condition=None) %}
{%- set operator = '>=' if or_equal else '>' -%}
select * from {{ model }}
where {{ column_A }} is not null and {{ column_B }} is not null
    {%- if row_condition %} and ({{ row_condition }}){% endif %}
    and not ({{ column_A }} {{ operator }} {{ column_B }})
{% endtest %}

{% test expect_compound_columns_to_be_unique(model, column_list, row_condition=None) %}
select {{ column_list | join(', ') }}, count(*) as copies
from {{ model }}{{ _expectation_where(row_condition) }}
group by {{ column_list | join(', ') }}
having count(*) > 1
{% endtest %}

{% test expect_table_row_count_to_be_between(model, min_value=None, max_value=None, row_condition=None, strictly=False) %}
{%- set lower_op = '>' if strictly else '>=' -%}
{%- set upper_op = '<' if strictly else '<=' -%}
with counted as (select count(*) as row_count from {{ model }}{{ _expectation_where(row_condition) }})
select * from counted
where not (
    true
    {%- if min_value is not none %} and row_count {{ lower_op }} {{ min_value }}{% endif %}
    {%- if max_value is not none %} and row_count {{ upper_op }} {{ max_value }}{% endif %}
)
{% endtest %}

{% test expect_table_row_count_to_equal_other_table(model, compare_model, factor=1, row_condition=None, compare_row_condition=None) %}
with
model_rows as (select count(*) as row_count from {{ model }}{{ _expectation_where(row_condition) }}),
compare_rows as (
    select count(*) as row_count from {{ compare_model }}{{ _expectation_where(compare_row_condition) }}
)
select model_rows.row_count as model_row_count, compare_rows.row_count as compare_row_count
from model_rows cross join compare_rows
where model_rows.row_count != compare_rows.row_count * {{ factor }}
{% endtest %}

{#- Fails when the newest value of the column is older than `interval` `datepart`s before now. -#}
{% test expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition=None) %}
with newest as (
    select max({{ column_name }})::timestamp as newest_value
    from {{ model }}{{ _expectation_where(row_condition) }}
)
select * from newest
where newest_value is null
    or newest_value < current_timestamp::timestamp - interval '{{ interval }} {{ datepart }}'
{% endtest %}
