{#-
    Value checks of the staging models: each macro returns a SQL expression giving a rejection reason code (or
    NULL) for one delivered value, so a bad value rejects its row with a precise reason instead of failing the
    build or being changed silently. rejection_reason(problems=[...]) places these codes in the house order and
    rejection_detail(...) says which column held which value.
-#}

{#- The contract's longest accepted text per entity and column (ingest/contract.py TEXT_LIMITS says the same;
    pytests/test_bad_values.py checks that they agree). A longer value is rejected as text_too_long. -#}
{% macro contract_text_limits() -%}
    {{ return({
        'products': {'product_code': 64, 'product_name': 200, 'product_type': 32},
        'clients': {
            'client_id': 64, 'first_name': 100, 'last_name': 100, 'national_id': 64, 'email': 254, 'phone': 32,
            'street': 200, 'city': 100, 'postal_code': 16, 'segment': 32, 'kyc_status': 32,
        },
        'accounts': {'account_id': 64, 'client_id': 64, 'product_code': 64, 'status': 32},
        'loans': {'loan_id': 64, 'client_id': 64, 'account_id': 64, 'product_code': 64, 'status': 32},
        'loan_schedules': {'loan_id': 64},
        'loan_payments': {'payment_id': 64, 'loan_id': 64},
        'transactions': {
            'transaction_id': 64, 'account_id': 64, 'channel': 32, 'mcc': 8, 'merchant': 200, 'description': 500,
        },
        'balances': {'account_id': 64},
        'postings': {'posting_id': 64, 'account_id': 64, 'posting_type': 32, 'description': 500},
        'fraud_labels': {'transaction_id': 64, 'label': 32, 'fraud_type': 64},
        'surveys': {'response_id': 64, 'client_id': 64, 'channel': 32, 'comment': 2000},
    }) }}
{%- endmacro %}

{#- Signed decimal as parse_amount reads it (point or decimal comma). -#}
{% macro amount_shape(value) -%}
    ({{ value }} ~ '^[+-]?[0-9]+([.][0-9]+)?$' or {{ value }} ~ '^[+-]?[0-9]+,[0-9]+$')
{%- endmacro %}

{#- Decimals that carry a value (trailing zeros do not: `12.500` is 12.50 exactly). -#}
{% macro significant_decimals(value) -%}
    coalesce(length(rtrim(substring({{ value }} from '[.,]([0-9]+)$'), '0')), 0)
{%- endmacro %}

{#-
    Every value check returns NULL for a value that can be taken as delivered, else `<reason>: <column> '<value>'`:
    the reason code (rejection_reason reads the part before the colon) followed by what was refused, which the
    row's rejection_detail repeats. The value is cut at 80 characters.
-#}
{% macro value_problem(reason, column, value) -%}
    '{{ reason }}: {{ column }} ' || quote_literal(left({{ value }}, 80))
{%- endmacro %}

{#-
    Why an amount cannot be taken as delivered, or NULL: invalid_amount (no documented spelling), amount_overflow
    (more integer digits than numeric(precision, scale) holds), zero_after_rounding (not zero, but nothing is left
    at the currency's minor units), excess_decimals (more decimals than the currency allows, or than the column
    keeps). minor_units is a SQL expression (NULL: the column's scale decides). Never an error, never a rounding.
-#}
{% macro amount_problem(column, scale=2, precision=18, minor_units=none, name=none) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    {%- set column = name or column -%}
    {%- set allowed = scale if minor_units is none
        else "least(" ~ scale ~ ", coalesce(" ~ minor_units ~ ", " ~ scale ~ "))" -%}
    (case
        when nullif({{ value }}, '') is null then null
        {#- the common case in one regex: a point decimal the column and the currency hold as it is #}
        when {{ value }} ~ '^[+-]?0*[0-9]{1,{{ precision - scale }}}([.][0-9]{1,{{ scale }}}0*)?$'
            and {{ allowed }} >= {{ scale }} then null
        when not {{ amount_shape(value) }} then {{ value_problem('invalid_amount', column, value) }}
        when {{ value }} !~ '^[+-]?0*[0-9]{1,{{ precision - scale }}}([.,][0-9]+)?$'
            then {{ value_problem('amount_overflow', column, value) }}
                || ' does not fit numeric({{ precision }}, {{ scale }})'
        when {{ significant_decimals(value) }} > {{ allowed }}
            then case
                when round(replace({{ value }}, ',', '.')::numeric, {{ allowed }}) = 0
                    then {{ value_problem('zero_after_rounding', column, value) }} || ' is 0 at ' || {{ allowed }}
                        || ' decimals'
                else {{ value_problem('excess_decimals', column, value) }} || ' has more than ' || {{ allowed }}
                    || ' decimals'
            end
    end)
{%- endmacro %}

{% macro integer_problem(column) -%}
    (case when {{ clean_text(column) }} is not null and {{ parse_integer(column) }} is null
        then {{ value_problem('invalid_integer', column, 'trim(' ~ column ~ ')') }} end)
{%- endmacro %}

{% macro date_problem(column) -%}
    (case when {{ clean_text(column) }} is not null and {{ parse_date(column) }} is null
        then {{ value_problem('invalid_date', column, 'trim(' ~ column ~ ')') }} end)
{%- endmacro %}

{% macro timestamp_problem(column) -%}
    (case when {{ clean_text(column) }} is not null and {{ parse_timestamp(column) }} is null
        then {{ value_problem('invalid_date', column, 'trim(' ~ column ~ ')') }} end)
{%- endmacro %}

{#- The landing file's name is not a calendar day (`2025-02-31.csv`): its delivery date is unknown. -#}
{% macro delivery_date_problem(file_column='_file_name') -%}
    (case when {{ delivery_date_from_file(file_column) }} is null
        then {{ value_problem('invalid_delivery_date', 'file name', file_column) }} || ' names no calendar day' end)
{%- endmacro %}

{#- text_too_long when one of the entity's limited columns (contract_text_limits) is longer than its limit. -#}
{% macro text_problem(entity, cast='') -%}
    {%- set limits = contract_text_limits()[entity] -%}
    (case
        {%- for column, limit in limits.items() %}
        when length(trim({{ column }}{{ cast }})) > {{ limit }}
            then 'text_too_long: {{ column }} has ' || length(trim({{ column }}{{ cast }}))
                || ' characters, the contract allows {{ limit }}'
        {%- endfor %}
    end)
{%- endmacro %}

{#- The reason code of a value check's result (the part before the colon). -#}
{% macro problem_reason(problem_expr) -%}
    split_part({{ problem_expr }}, ':', 1)
{%- endmacro %}

{#-
    The plausibility bound of an amount per product: var('amount_plausibility_bounds') maps a product code to the
    largest absolute amount (in the row's currency) that is believable for it, 'default' for any other product.
    var('implausible_amount_action') says what a row beyond it is: 'reject' (rejected as implausible_amount, the
    default) or 'flag' (kept, and listed by the warning test assert_no_implausible_amounts).
-#}
{% macro amount_plausibility_bounds() -%}
    {{ return(var('amount_plausibility_bounds', {'default': 1000000000})) }}
{%- endmacro %}

{% macro implausible_amount_action() -%}
    {%- set action = var('implausible_amount_action', 'reject') -%}
    {%- if action not in ('reject', 'flag') -%}
        {{ exceptions.raise_compiler_error("implausible_amount_action must be 'reject' or 'flag', not '" ~ action ~ "'") }}
    {%- endif -%}
    {{ return(action) }}
{%- endmacro %}

{#- The bound for a product code expression, from amount_plausibility_bounds. -#}
{% macro plausibility_bound(product_expr) -%}
    {%- set bounds = amount_plausibility_bounds() -%}
    {%- set default = bounds.get('default', 1000000000) -%}
    {%- set products = bounds.keys() | reject('equalto', 'default') | list -%}
    {%- if products -%}
    (case
        {%- for product in products %}
        when {{ product_expr }} = '{{ product }}' then {{ bounds[product] }}::numeric
        {%- endfor %}
        else {{ default }}::numeric
    end)
    {%- else -%}
    {{ default }}::numeric
    {%- endif -%}
{%- endmacro %}

{#- True when the amount is beyond its product's plausibility bound. -#}
{% macro is_implausible_amount(amount_expr, product_expr) -%}
    (abs({{ amount_expr }}) > {{ plausibility_bound(product_expr) }})
{%- endmacro %}

{#-
    conflicting_duplicate: the key (with version_column, for entities that version their rows) was delivered more
    than once with different content among the rows that pass every other check. Every version is rejected, so
    none wins by the order of delivery; exact copies stay duplicates. A window expression over `content`, the
    parsed columns that make up a record (lineage excluded), for a CTE where `passes` marks the other checks.
-#}
{% macro conflict_problem(key, content, passes='pre_rejection_reason is null') -%}
    {%- set partition = key if key is string else key | join(', ') -%}
    {%- set digest = "md5(row(" ~ content | join(', ') ~ ")::text)" -%}
    (case
        when {{ passes }}
            and min({{ digest }}) filter (where {{ passes }}) over (partition by {{ partition }})
            <> max({{ digest }}) filter (where {{ passes }}) over (partition by {{ partition }})
            then 'conflicting_duplicate'
    end)
{%- endmacro %}

{#-
    What exactly was refused, for a rejected row: the value checks that failed (column, value, why) when the
    reason is one of theirs, else the note given for the row-level reason (notes: reason -> SQL text), else the
    reason code itself.
-#}
{% macro rejection_detail(reason_expr, problems=[], notes={}) -%}
    (case
        when {{ reason_expr }} is null then null
        {%- if problems %}
        when {{ reason_expr }} in ({% for p in problems %}{{ problem_reason(p) }}{% if not loop.last %}, {% endif %}{% endfor %})
            then concat_ws('; '{% for p in problems %}, {{ p }}{% endfor %})
        {%- endif %}
        {%- for reason, text in notes.items() %}
        when {{ reason_expr }} = '{{ reason }}' then {{ text }}
        {%- endfor %}
        else {{ reason_expr }}
    end)
{%- endmacro %}
