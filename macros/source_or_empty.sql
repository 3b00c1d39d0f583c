{#-
    A source table, or an empty relation with the same columns when the table does not exist yet.
    Why: a warehouse may be built before a source was ever loaded (the demo bank without the Czech bank, or
    the Czech bank alone); a missing raw table then means "no rows delivered", not a failed build. The
    columns are the delivered file's columns (text, or the type after a colon: 'lines_in:bigint') plus the loader's lineage columns. `source()` is always
    called so lineage, docs and freshness still know the dependency. Callers alias it (`from ... as x`):
    PostgreSQL before 16 requires an alias on a subquery in FROM.
-#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        (
            select
            {%- for column in columns %}
                {%- set name, _, data_type = column.partition(':') %}
                null::{{ data_type or 'text' }} as {{ adapter.quote(name) }},
            {%- endfor %}
                null::text as _file_name,
                null::bigint as _line_number,
                null::text as _dlt_load_id,
                null::timestamptz as _loaded_at
            where false
        )
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- The Berka raw tables and their delivered columns (the files' headers, lower-cased as the loader names them). -#}
{% macro berka_raw_columns(table_name) -%}
    {%- set columns = {
        'account': ['account_id', 'district_id', 'frequency', 'date'],
        'client': ['client_id', 'birth_number', 'district_id'],
        'disp': ['disp_id', 'client_id', 'account_id', 'type'],
        'card': ['card_id', 'disp_id', 'type', 'issued'],
        'loan': ['loan_id', 'account_id', 'date', 'amount', 'duration', 'payments', 'status'],
        'order': ['order_id', 'account_id', 'bank_to', 'account_to', 'amount', 'k_symbol'],
        'district': ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'a10', 'a11', 'a12', 'a13', 'a14',
                     'a15', 'a16'],
        'trans': ['trans_id', 'account_id', 'date', 'type', 'operation', 'amount', 'balance', 'k_symbol', 'bank',
                  'account'],
        '_file_loads': ['file_name', 'entity', 'content_sha256', 'encoding', 'lines_in:bigint', 'rows_loaded:bigint',
                        'rows_quarantined:bigint', 'new_columns', 'load_id', 'loaded_at:timestamptz'],
        '_quarantine': ['file_name', 'line_number:bigint', 'raw_line', 'reason'],
    } -%}
    {{ return(columns[table_name]) }}
{%- endmacro %}

{% macro berka_source(table_name) -%}
    {{ source_or_empty('raw_berka', table_name, berka_raw_columns(table_name)) }}
{%- endmacro %}
