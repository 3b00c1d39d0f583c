{#-
    Expectation tests under dbt-expectations' names, arguments and verdicts on PostgreSQL, so that the package
    (calogica/dbt_expectations or metaplane/dbt_expectations) can replace this file and give the same results. The
    implementations are the project's own, written from the package's documentation. README.md ("Expectation
    tests") lists the tests and how to switch.

    Every test returns the offending rows (or one row describing the mismatch): zero rows = pass.

    NULL handling, as the package has it on PostgreSQL:
    - not_null, in_set, match_regex: a NULL value fails (add `row_condition: <column> is not null` to skip it);
    - between, pair_values_A_to_be_greater_than_B: a NULL on either side is not checked;
    - uniqueness: rows whose key columns are all NULL are skipped (ignore_row_if: all_values_are_missing, the
      default; a NULL value for the one-column test); any_value_is_missing skips rows with any NULL key column.

    Arguments the package does not document for a test, and values it cannot give a verdict for (an empty
    value_set, a list given as a string, an unknown ignore_row_if, an unsupported regex flag or datepart), stop the
    test when it is compiled, with a message naming the test and the argument. The check waits for dbt's execute
    phase, so one wrong test does not keep the whole project from parsing: `dbt compile`, `dbt build` and
    `dbt test` report it as that test's error.

    Helpers start with `_expect_` and are used only by the tests of this file.
-#}

{#- Appends to `problems` when `value` is not a usable SQL fragment or name (a non-empty string). -#}
{% macro _expect_check_text(problems, name, value, required=true) -%}
    {%- if value is none or value is undefined -%}
        {%- if required %}{% do problems.append(name ~ " is required") %}{% endif -%}
    {%- elif value is not string or (value | trim) == "" -%}
        {%- do problems.append(name ~ " must be a non-empty string, got " ~ (value | string)) -%}
    {%- endif -%}
{%- endmacro %}

{% macro _expect_check_flag(problems, name, value) -%}
    {%- if value is not boolean -%}
        {%- do problems.append(name ~ " must be true or false, got " ~ (value | string)) -%}
    {%- endif -%}
{%- endmacro %}

{% macro _expect_check_number(problems, name, value, required=false) -%}
    {%- if value is none or value is undefined -%}
        {%- if required %}{% do problems.append(name ~ " is required") %}{% endif -%}
    {%- elif value is boolean or value is not number -%}
        {%- do problems.append(name ~ " must be a number, got " ~ (value | string)) -%}
    {%- endif -%}
{%- endmacro %}

{#- A list of column names (or expressions); a single string is refused, as iterating it would read characters. -#}
{% macro _expect_check_columns(problems, name, value, required=false) -%}
    {%- if value is none or value is undefined -%}
        {%- if required %}{% do problems.append(name ~ " is required: a list of columns") %}{% endif -%}
    {%- elif value is string or value is mapping or value is not iterable -%}
        {%- do problems.append(name ~ " must be a list of columns, got " ~ (value | string)) -%}
    {%- elif value | length == 0 -%}
        {%- do problems.append(name ~ " must name at least one column") -%}
    {%- else -%}
        {%- for column in value if column is not string or (column | trim) == "" -%}
            {%- do problems.append(name ~ " holds a value that is not a column name: " ~ (column | string)) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- True when the arguments are usable. Otherwise, once dbt executes (compile, build, test), raises one compiler
    error listing every problem and every argument the test does not take; while parsing, returns false so the
    test renders a placeholder instead of broken SQL. -#}
{% macro _expect_arguments_ok(test_name, problems, extra_arguments, accepted) -%}
    {%- set messages = [] -%}
    {%- for problem in problems -%}{%- do messages.append(problem) -%}{%- endfor -%}
    {%- if extra_arguments -%}
        {%- do messages.append(
            "unsupported argument(s) " ~ (extra_arguments.keys() | sort | join(", "))
            ~ "; it takes " ~ (accepted | join(", "))
        ) -%}
    {%- endif -%}
    {%- if messages and execute -%}
        {{ exceptions.raise_compiler_error(test_name ~ ": " ~ (messages | join("; "))) }}
    {%- endif -%}
    {{ return(messages | length == 0) }}
{%- endmacro %}

{#- `where` followed by the non-empty conditions, each in parentheses, joined with `and` (nothing when none). -#}
{% macro _expect_where(conditions) -%}
    {%- set kept = [] -%}
    {%- for condition in conditions if condition is not none and (condition | string | trim) != "" -%}
        {%- do kept.append("(" ~ condition ~ ")") -%}
    {%- endfor -%}
    {%- if kept %} where {{ kept | join(" and ") }}{% endif -%}
{%- endmacro %}

{#- The lower/upper bound check of between tests; strictly turns >= / <= into > / <. -#}
{% macro _expect_bounds(expression, min_value, max_value, strictly) -%}
    {%- set parts = [] -%}
    {%- if min_value is not none %}{% do parts.append(expression ~ (" > " if strictly else " >= ") ~ min_value) %}{% endif -%}
    {%- if max_value is not none %}{% do parts.append(expression ~ (" < " if strictly else " <= ") ~ max_value) %}{% endif -%}
    {{- parts | join(" and ") -}}
{%- endmacro %}

{#- The row count of `relation` (rows meeting row_condition); with group_by, one row per group, its key columns
    named group_1, group_2, ... -#}
{% macro _expect_row_counts(relation, group_by, row_condition) -%}
    select {% for column in group_by or [] %}{{ column }} as group_{{ loop.index }}, {% endfor %}count(*) as row_count
    from {{ relation }}{{ _expect_where([row_condition]) }}
    {%- if group_by %}
    group by {% for column in group_by %}{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
    {%- endif %}
{%- endmacro %}

{% macro _expect_check_bounds(problems, min_value, max_value, strictly) -%}
    {%- if min_value is none and max_value is none -%}
        {%- do problems.append("min_value or max_value (or both) is required") -%}
    {%- endif -%}
    {{- _expect_check_flag(problems, "strictly", strictly) -}}
{%- endmacro %}


{% test expect_column_values_to_not_be_null(model, column_name, row_condition=None) %}
{%- set problems = [] -%}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- if _expect_arguments_ok("expect_column_values_to_not_be_null", problems, kwargs, ["row_condition"]) %}
select * from {{ model }}{{ _expect_where([row_condition, column_name ~ " is null"]) }}
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{#- Same verdict as compound uniqueness on the one column: NULL values are skipped. -#}
{% test expect_column_values_to_be_unique(model, column_name, row_condition=None) %}
{%- set problems = [] -%}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- if _expect_arguments_ok("expect_column_values_to_be_unique", problems, kwargs, ["row_condition"]) %}
select {{ column_name }}, count(*) as n_records
from {{ model }}{{ _expect_where([row_condition, column_name ~ " is not null"]) }}
group by {{ column_name }}
having count(*) > 1
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{% test expect_column_values_to_be_between(model, column_name, min_value=None, max_value=None, row_condition=None, strictly=False) %}
{%- set problems = [] -%}
{{- _expect_check_bounds(problems, min_value, max_value, strictly) -}}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- set accepted = ["min_value", "max_value", "row_condition", "strictly"] -%}
{%- if _expect_arguments_ok("expect_column_values_to_be_between", problems, kwargs, accepted) %}
select * from {{ model }}
{{- _expect_where([row_condition, "not (" ~ _expect_bounds(column_name, min_value, max_value, strictly) ~ ")"]) }}
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{% test expect_column_values_to_be_in_set(model, column_name, value_set, quote_values=True, row_condition=None) %}
{%- set problems = [] -%}
{%- if value_set is none or value_set is undefined -%}
    {%- do problems.append("value_set is required") -%}
{%- elif value_set is string or value_set is mapping or value_set is not iterable -%}
    {%- do problems.append("value_set must be a list of values, got " ~ (value_set | string)) -%}
{%- elif value_set | length == 0 -%}
    {%- do problems.append("value_set is empty: no value could pass") -%}
{%- elif none in value_set -%}
    {%- do problems.append("value_set holds a null, which never matches; skip NULL rows with row_condition") -%}
{%- endif -%}
{{- _expect_check_flag(problems, "quote_values", quote_values) -}}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- if _expect_arguments_ok("expect_column_values_to_be_in_set", problems, kwargs, ["value_set", "quote_values", "row_condition"]) %}
{%- set literals = [] -%}
{%- for value in value_set -%}
    {%- do literals.append("'" ~ (value | string | replace("'", "''")) ~ "'" if quote_values else value | string) -%}
{%- endfor %}
select * from {{ model }}
{{- _expect_where([row_condition, column_name ~ " is null or " ~ column_name ~ " not in (" ~ (literals | join(", ")) ~ ")"]) }}
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{#- A match anywhere in the value (anchor with ^ and $), with PostgreSQL's regular expressions. is_raw sends the
    pattern as a dollar-quoted literal, which no server setting reads escapes in; without it the pattern is a
    standard string literal, read as written too while standard_conforming_strings is on (the default), so a
    backslash reaches the regex engine unchanged either way. flags are PostgreSQL's regex option letters. -#}
{% test expect_column_values_to_match_regex(model, column_name, regex, row_condition=None, is_raw=False, flags="") %}
{%- set problems = [] -%}
{{- _expect_check_text(problems, "regex", regex) -}}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{{- _expect_check_flag(problems, "is_raw", is_raw) -}}
{%- if flags is none or flags is not string -%}
    {%- do problems.append("flags must be a string of option letters, got " ~ (flags | string)) -%}
{%- else -%}
    {%- for flag in flags if flag not in "bceimnpqstwx" -%}
        {%- do problems.append(
            "flag '" ~ flag ~ "' is not supported (PostgreSQL options: b c e i m n p q s t w x; 'g' has no "
            ~ "meaning for a match)"
        ) -%}
    {%- endfor -%}
{%- endif -%}
{%- set accepted = ["regex", "row_condition", "is_raw", "flags"] -%}
{%- if _expect_arguments_ok("expect_column_values_to_match_regex", problems, kwargs, accepted) %}
{%- if is_raw -%}
    {#- a dollar-quote tag that the pattern does not contain -#}
    {%- set quote = namespace(tag="$regex$") -%}
    {%- for _ in range(regex | length) if quote.tag in regex -%}
        {%- set quote.tag = "$regex" ~ loop.index ~ "$" -%}
    {%- endfor -%}
    {%- set pattern = quote.tag ~ regex ~ quote.tag -%}
{%- else -%}
    {%- set pattern = "'" ~ (regex | replace("'", "''")) ~ "'" -%}
{%- endif %}
select * from {{ model }}
{{- _expect_where([row_condition, "regexp_match(" ~ column_name ~ "::text, " ~ pattern ~ ", '" ~ flags ~ "') is null"]) }}
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{% test expect_column_pair_values_A_to_be_greater_than_B(model, column_A, column_B, or_equal=False, row_condition=None) %}
{%- set problems = [] -%}
{{- _expect_check_text(problems, "column_A", column_A) -}}
{{- _expect_check_text(problems, "column_B", column_B) -}}
{{- _expect_check_flag(problems, "or_equal", or_equal) -}}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- set accepted = ["column_A", "column_B", "or_equal", "row_condition"] -%}
{%- if _expect_arguments_ok("expect_column_pair_values_A_to_be_greater_than_B", problems, kwargs, accepted) %}
select * from {{ model }}
{{- _expect_where([row_condition, "not (" ~ column_A ~ (" >= " if or_equal else " > ") ~ column_B ~ ")"]) }}
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{% test expect_compound_columns_to_be_unique(model, column_list, quote_columns=False, ignore_row_if="all_values_are_missing", row_condition=None) %}
{%- set problems = [] -%}
{{- _expect_check_columns(problems, "column_list", column_list, required=true) -}}
{{- _expect_check_flag(problems, "quote_columns", quote_columns) -}}
{%- if ignore_row_if not in ["all_values_are_missing", "any_value_is_missing"] -%}
    {%- do problems.append(
        "ignore_row_if must be all_values_are_missing or any_value_is_missing, got " ~ (ignore_row_if | string)
    ) -%}
{%- endif -%}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- set accepted = ["column_list", "quote_columns", "ignore_row_if", "row_condition"] -%}
{%- if _expect_arguments_ok("expect_compound_columns_to_be_unique", problems, kwargs, accepted) %}
{%- set columns = [] -%}
{%- for column in column_list -%}
    {%- do columns.append(adapter.quote(column) if quote_columns else column) -%}
{%- endfor -%}
{%- set missing = [] -%}
{%- for column in columns -%}{%- do missing.append(column ~ " is null") -%}{%- endfor -%}
{%- set skipped = missing | join(" and " if ignore_row_if == "all_values_are_missing" else " or ") %}
select {{ columns | join(", ") }}, count(*) as n_records
from {{ model }}{{ _expect_where([row_condition, "not (" ~ skipped ~ ")"]) }}
group by {{ columns | join(", ") }}
having count(*) > 1
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{#- Without group_by, the model's row count (0 for an empty model); with it, the row count of every group present. -#}
{% test expect_table_row_count_to_be_between(model, min_value=None, max_value=None, group_by=None, row_condition=None, strictly=False) %}
{%- set problems = [] -%}
{{- _expect_check_bounds(problems, min_value, max_value, strictly) -}}
{{- _expect_check_columns(problems, "group_by", group_by) -}}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- set accepted = ["min_value", "max_value", "group_by", "row_condition", "strictly"] -%}
{%- if _expect_arguments_ok("expect_table_row_count_to_be_between", problems, kwargs, accepted) %}
with counted as (
    {{ _expect_row_counts(model, group_by, row_condition) }}
)
select * from counted where not ({{ _expect_bounds("row_count", min_value, max_value, strictly) }})
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{#- The model's row count must equal the compare model's times factor. As in the package, compare_row_condition
    and compare_group_by default to row_condition and group_by; groups are matched with `=` (a group whose key
    holds a NULL matches nothing, so it fails: filter such rows with row_condition), and a group found on one side
    only counts 0 on the other. -#}
{% test expect_table_row_count_to_equal_other_table(model, compare_model, group_by=None, compare_group_by=None, factor=1, row_condition=None, compare_row_condition=None) %}
{%- set problems = [] -%}
{%- if compare_model is none or compare_model is undefined -%}
    {%- do problems.append("compare_model is required") -%}
{%- endif -%}
{{- _expect_check_columns(problems, "group_by", group_by) -}}
{{- _expect_check_columns(problems, "compare_group_by", compare_group_by) -}}
{{- _expect_check_number(problems, "factor", factor, required=true) -}}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{{- _expect_check_text(problems, "compare_row_condition", compare_row_condition, required=false) -}}
{%- set compare_group_by = compare_group_by or group_by -%}
{%- set compare_row_condition = compare_row_condition or row_condition -%}
{%- if group_by and compare_group_by and group_by is not string and compare_group_by is not string
    and (group_by | length) != (compare_group_by | length) -%}
    {%- do problems.append("group_by and compare_group_by must name as many columns") -%}
{%- elif compare_group_by and not group_by -%}
    {%- do problems.append("compare_group_by needs group_by") -%}
{%- endif -%}
{%- set accepted = ["compare_model", "group_by", "compare_group_by", "factor", "row_condition", "compare_row_condition"] -%}
{%- if _expect_arguments_ok("expect_table_row_count_to_equal_other_table", problems, kwargs, accepted) %}
{%- set keys = range(1, (group_by | length) + 1) if group_by else [] %}
with
model_counts as (
    {{ _expect_row_counts(model, group_by, row_condition) }}
),
compare_counts as (
    {{ _expect_row_counts(compare_model, compare_group_by, compare_row_condition) }}
)
select
    {% for i in keys %}coalesce(model_counts.group_{{ i }}, compare_counts.group_{{ i }}) as group_{{ i }}, {% endfor %}
    model_counts.row_count as model_row_count,
    compare_counts.row_count as compare_row_count
from model_counts
{%- if keys %}
full outer join compare_counts
    on {% for i in keys %}model_counts.group_{{ i }} = compare_counts.group_{{ i }}{% if not loop.last %} and {% endif %}{% endfor %}
{%- else %}
cross join compare_counts
{%- endif %}
where coalesce(model_counts.row_count, 0) != coalesce(compare_counts.row_count, 0) * {{ factor }}
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}


{#- Fails when the newest value at or before now is older than `interval` `datepart`s before now, or when no row
    has such a value (timestamps in the future are left out). "Now" is the wall clock of the package's variable
    dbt_date:time_zone when the project sets it, else of the session's time zone. -#}
{% test expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition=None) %}
{%- set problems = [] -%}
{%- set dateparts = ["second", "minute", "hour", "day", "week", "month", "year"] -%}
{%- if datepart not in dateparts -%}
    {%- do problems.append("datepart must be one of " ~ (dateparts | join(", ")) ~ ", got " ~ (datepart | string)) -%}
{%- endif -%}
{{- _expect_check_number(problems, "interval", interval, required=true) -}}
{{- _expect_check_text(problems, "row_condition", row_condition, required=false) -}}
{%- set accepted = ["datepart", "interval", "row_condition"] -%}
{%- if _expect_arguments_ok("expect_row_values_to_have_recent_data", problems, kwargs, accepted) %}
{%- set time_zone = var("dbt_date:time_zone", none) -%}
{%- if time_zone -%}
    {%- set now = "(current_timestamp at time zone '" ~ (time_zone | replace("'", "''")) ~ "')" -%}
{%- else -%}
    {%- set now = "localtimestamp" -%}
{%- endif -%}
{%- set value = "cast(" ~ column_name ~ " as timestamp)" %}
with newest as (
    select max({{ value }}) as newest_value, {{ now }} - interval '1 {{ datepart }}' * {{ interval }} as threshold
    from {{ model }}{{ _expect_where([row_condition, value ~ " <= " ~ now]) }}
)
select * from newest
where coalesce(newest_value, '1970-01-01'::timestamp) < threshold
{%- else %}
select 1 as invalid_arguments
{%- endif %}
{% endtest %}
