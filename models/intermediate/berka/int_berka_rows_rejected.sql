{#-
    Every Berka row a staging model could not read, with the file, the line and the rule (reason code), in the
    shape of int_rejected_rows_unioned (which lists them beside the simulated bank's). Nothing is dropped
    silently: a row missing from the intermediates is here.
-#}
{%- set entities = {
    'account': 'account_id', 'client': 'client_id', 'disposition': 'disp_id', 'card': 'card_id',
    'loan': 'loan_id', 'standing_order': 'order_id', 'district': 'district_id', 'transaction': 'trans_id'
} %}
{%- for entity, business_key in entities.items() %}
    select
        {{ source_system('berka') }} as source_system,
        '{{ entity }}'::text as entity,
        {{ business_key }}::text as business_key,
        rejection_reason,
        source_file as source_file_name,
        source_line::bigint as source_line_number,
        null::date as delivery_date,
        null::timestamptz as loaded_at
    from {{ ref('stg_berka__' ~ entity) }}
    where not is_valid
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
