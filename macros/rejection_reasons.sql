{#-
    One order of rejection reasons for every entity of every source: a row that fails several checks is rejected
    for the first of them in this order. Unreadable or unholdable values come first (an unreadable value is also
    missing once parsed, and the reason should say why; a value that does not fit its column or its currency is
    never rounded), then absent values, then values that do not refer to anything known, then values out of their
    range, and last a key delivered again with other content. unknown_account is decided in intermediate, after
    staging, at its place in the order (first_rejection_reason).
-#}
{% macro rejection_reason_order() -%}
    {{ return([
        'invalid_integer', 'invalid_amount', 'amount_overflow', 'zero_after_rounding', 'excess_decimals',
        'invalid_date', 'invalid_delivery_date', 'text_too_long', 'missing_mandatory', 'invalid_iban',
        'unknown_account', 'unknown_currency', 'unknown_code', 'out_of_range', 'implausible_amount', 'future_date',
        'conflicting_duplicate'
    ]) }}
{%- endmacro %}

{#-
    rejection_reason(invalid_date='has_unreadable_date', missing_mandatory='id is null', ...): the CASE naming the
    first failing check in the house order; NULL for a row that passes every check. Each keyword is a reason code,
    its value the SQL condition under which the row fails that check. problems lists value-check expressions
    (macros/value_checks.sql: NULL or `<reason>: <what>`); each fails the row with its own reason, at that
    reason's place in the order.
-#}
{% macro rejection_reason(problems=[]) -%}
    {%- set order = rejection_reason_order() -%}
    {%- for reason in kwargs if reason not in order -%}
        {{ exceptions.raise_compiler_error("unknown rejection reason '" ~ reason ~ "' (known: " ~ order | join(', ') ~ ")") }}
    {%- endfor -%}
    {%- set value_reasons = [
        'invalid_integer', 'invalid_amount', 'amount_overflow', 'zero_after_rounding', 'excess_decimals',
        'invalid_date', 'invalid_delivery_date', 'text_too_long'
    ] -%}
    {%- set reasons = problem_reasons(problems) if problems else '' -%}
    case
    {%- if problems %}
        {#- The value reasons lead the order: one test of whether any value check failed spares a valid row the
            comparisons with each of them. #}
        when coalesce({{ problems | join(', ') }}) is not null then case
        {%- for reason in order if reason in value_reasons %}
            when '{{ reason }}' in ({{ reasons }}){% if reason in kwargs %} or ({{ kwargs[reason] }}){% endif %}
                then '{{ reason }}'
        {%- endfor %}
        end
    {%- endif %}
    {%- for reason in order if reason in kwargs %}
        when ({{ kwargs[reason] }}) then '{{ reason }}'
    {%- endfor %}
    end
{%- endmacro %}

{#- The reason codes of a list of value-check expressions, comma separated, for an IN list. -#}
{% macro problem_reasons(problems) -%}
    {%- for p in problems %}split_part({{ p }}, ':', 1){% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}

{#- Of two reason expressions (either may be NULL), the one that comes first in the house order. -#}
{% macro first_rejection_reason(reason_a, reason_b) -%}
    {%- set order = rejection_reason_order() -%}
    (array['{{ order | join("', '") }}'])[
        least(
            array_position(array['{{ order | join("', '") }}'], {{ reason_a }}),
            array_position(array['{{ order | join("', '") }}'], {{ reason_b }})
        )
    ]
{%- endmacro %}

{#- The condition under which a currency code is not in ISO 4217 (the iso_currencies seed). -#}
{% macro is_unknown_currency(expr) -%}
    {{ expr }} not in (select iso.currency_code from {{ ref('iso_currencies') }} as iso)
{%- endmacro %}
