{#-
    One order of rejection reasons for every entity of every source: a row that fails several checks is rejected
    for the first of them in this order. Unreadable values come first (an unreadable value is also missing once
    parsed, and the reason should say why), then absent values, then values that do not refer to anything known,
    then values out of their range. unknown_account is decided in intermediate, after staging, at its place in the
    order (first_rejection_reason).
-#}
{% macro rejection_reason_order() -%}
    {{ return([
        'invalid_integer', 'invalid_amount', 'invalid_date', 'missing_mandatory', 'invalid_iban', 'unknown_account',
        'unknown_currency', 'unknown_code', 'out_of_range', 'future_date'
    ]) }}
{%- endmacro %}

{#-
    rejection_reason(invalid_date='has_unreadable_date', missing_mandatory='id is null', ...): the CASE naming the
    first failing check in the house order; NULL for a row that passes every check. Each keyword is a reason code,
    its value the SQL condition under which the row fails that check.
-#}
{% macro rejection_reason() -%}
    {%- set order = rejection_reason_order() -%}
    {%- for reason in kwargs if reason not in order -%}
        {{ exceptions.raise_compiler_error("unknown rejection reason '" ~ reason ~ "' (known: " ~ order | join(', ') ~ ")") }}
    {%- endfor -%}
    case
    {%- for reason in order if reason in kwargs %}
        when {{ kwargs[reason] }} then '{{ reason }}'
    {%- endfor %}
    end
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
