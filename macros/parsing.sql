{#-
    Safe casting of the core-banking export's text columns. Every macro takes a SQL expression and returns NULL
    (never an error) for a value it cannot read, so a bad row is flagged by the staging model instead of failing
    the whole run. The formats are the ones docs/source_contract.md lists, including the known defects.
-#}

{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- Codes (channels, statuses, product types): trimmed and lower-cased. -#}
{% macro clean_code(expr) -%}
    lower(nullif(trim({{ expr }}), ''))
{%- endmacro %}

{#- ISO codes (currencies, countries): trimmed and upper-cased. -#}
{% macro clean_iso_code(expr) -%}
    upper(nullif(trim({{ expr }}), ''))
{%- endmacro %}

{#- Signed decimal with a point (`-12.50`) or a decimal comma (`"12,50"`, the decimal_comma defect), as
    numeric(precision, scale). NULL unless the value fits exactly: more integer digits than the column holds would
    be an overflow error, and more decimals would be rounded silently; amount_problem names either case. -#}
{% macro parse_amount(expr, scale=2, precision=18) -%}
    {%- set fits = "0*[0-9]{1," ~ (precision - scale) ~ "}" -%}
    {%- set decimals = "[0-9]{1," ~ scale ~ "}0*" -%}
    (case
        when trim({{ expr }}) ~ '^[+-]?{{ fits }}([.]{{ decimals }})?$' then trim({{ expr }})::numeric
        when trim({{ expr }}) ~ '^[+-]?{{ fits }},{{ decimals }}$' then replace(trim({{ expr }}), ',', '.')::numeric
    end)::numeric({{ precision }}, {{ scale }})
{%- endmacro %}

{% macro parse_integer(expr) -%}
    (case when trim({{ expr }}) ~ '^[+-]?[0-9]{1,9}$' then trim({{ expr }})::integer end)
{%- endmacro %}

{#- ISO dates plus the date_format defect's DD.MM.YYYY, DD/MM/YYYY and YYYY/MM/DD. The parts are cut out by
    position once the shape matched and handed to safe_make_date, so a well-shaped day that does not exist
    (2025-02-31, 31.02.2025, month 13) is NULL (the row is then rejected as invalid_date) instead of an error
    that would stop the whole build, as to_date or a cast would. -#}
{% macro parse_date(expr) -%}
    {%- set value = "trim(" ~ expr ~ ")" -%}
    {%- set year_first = safe_make_date(
        "substr(" ~ value ~ ", 1, 4)::integer",
        "substr(" ~ value ~ ", 6, 2)::integer",
        "substr(" ~ value ~ ", 9, 2)::integer"
    ) -%}
    {%- set day_first = safe_make_date(
        "substr(" ~ value ~ ", 7, 4)::integer",
        "substr(" ~ value ~ ", 4, 2)::integer",
        "substr(" ~ value ~ ", 1, 2)::integer"
    ) -%}
    (case
        when {{ value }} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then {{ year_first }}
        when {{ value }} ~ '^[0-9]{2}\.[0-9]{2}\.[0-9]{4}$' then {{ day_first }}
        when {{ value }} ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}$' then {{ day_first }}
        when {{ value }} ~ '^[0-9]{4}/[0-9]{2}/[0-9]{2}$' then {{ year_first }}
    end)
{%- endmacro %}

{#- Bank-time timestamps `<date>T<HH:MM[:SS[.fff]]>` (or a space), the date part in any format parse_date reads;
    a bare date means midnight. The time is read only when the pattern proves it a real clock time (hours 0-23,
    minutes and seconds 0-59), so `25:00:00` gives NULL rather than an error, like an impossible date. -#}
{% macro parse_timestamp(expr) -%}
    {%- set value = "trim(" ~ expr ~ ")" -%}
    {%- set clock = "([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?" -%}
    (case
        when {{ value }} ~ '^[^ T]+[T ]{{ clock }}$'
            then {{ parse_date("substring(" ~ value ~ " from '^([^ T]+)[T ]')") }}
                + substring({{ value }} from '[T ]({{ clock }})$')::time
        else {{ parse_date(expr) }}::timestamp
    end)
{%- endmacro %}

{#- The delivery (business) date of a landing file, from its name `<entity>/YYYY-MM-DD.csv`; NULL when the name
    is no calendar day (`2025-02-31.csv`: the row is then rejected as invalid_delivery_date, not an error). -#}
{% macro delivery_date_from_file(expr) -%}
    {%- set day = "substring(" ~ expr ~ " from '([0-9]{4}-[0-9]{2}-[0-9]{2})[.]csv$')" -%}
    {{ safe_make_date(
        "substr(" ~ day ~ ", 1, 4)::integer", "substr(" ~ day ~ ", 6, 2)::integer", "substr(" ~ day ~ ", 9, 2)::integer"
    ) }}
{%- endmacro %}

{#- ISO 13616 check: two letters, two check digits, 11-30 alphanumerics, and the mod-97 remainder of the
    rearranged number (letters as 10..35) equal to 1. Spaces are ignored, as printed IBANs contain them. -#}
{% macro is_valid_iban(expr) -%}
    (
        upper(replace({{ expr }}, ' ', '')) ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'
        and (
            select string_agg(
                case when ch ~ '[0-9]' then ch else (ascii(ch) - 55)::text end, '' order by pos
            )
            from unnest(string_to_array(
                substr(upper(replace({{ expr }}, ' ', '')), 5) || substr(upper(replace({{ expr }}, ' ', '')), 1, 4),
                null
            )) with ordinality as chars (ch, pos)
        )::numeric % 97 = 1
    )
{%- endmacro %}

{#- A date from integer year, month and day expressions, or NULL when they name no calendar day (31 February,
    month 13, a NULL part): the checks sit in nested CASEs, which PostgreSQL evaluates in order, so make_date
    never sees a value it would raise an error on. -#}
{% macro safe_make_date(year_expr, month_expr, day_expr) -%}
    (case
        when ({{ year_expr }}) between 1 and 9999 and ({{ month_expr }}) between 1 and 12
            then case
                when ({{ day_expr }}) between 1 and extract(
                    day from make_date({{ year_expr }}, {{ month_expr }}, 1) + interval '1 month' - interval '1 day'
                )
                    then make_date({{ year_expr }}, {{ month_expr }}, {{ day_expr }})
            end
    end)
{%- endmacro %}

{#- The Czech bank's dates `YYMMDD` (all in the 1900s); NULL for anything else, including a day that does not
    exist. month_offset is subtracted from the month (the birth number adds 50 for women). -#}
{% macro parse_yymmdd(expr, month_offset=0) -%}
    (case
        when trim({{ expr }}) ~ '^[0-9]{6}$'
            then {{ safe_make_date(
                "1900 + substr(trim(" ~ expr ~ "), 1, 2)::integer",
                "substr(trim(" ~ expr ~ "), 3, 2)::integer - " ~ month_offset,
                "substr(trim(" ~ expr ~ "), 5, 2)::integer"
            ) }}
    end)
{%- endmacro %}

{#- The Czech bank's timestamps `YYMMDD hh:mm:ss` (card issue); NULL when the date or the time is not real. -#}
{% macro parse_yymmdd_time(expr) -%}
    (case
        when trim({{ expr }}) ~ '^[0-9]{6} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$'
            then {{ parse_yymmdd("substr(trim(" ~ expr ~ "), 1, 6)") }} + substr(trim({{ expr }}), 8)::time
    end)
{%- endmacro %}

{#- True when a delivered value is present but the parser could not read it (the row is then rejected with the
    rule's reason instead of failing the run). -#}
{% macro is_unreadable(raw_expr, parsed_expr) -%}
    ({{ clean_text(raw_expr) }} is not null and {{ parsed_expr }} is null)
{%- endmacro %}
