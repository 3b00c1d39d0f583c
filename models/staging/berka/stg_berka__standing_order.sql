with

loads as (
    -- the load that counts for each file: the latest recorded in _file_loads (re-runs never double a row)
    select
        file_name,
        load_id
    from (
        select
            file_name,
            load_id,
            row_number() over (partition by file_name order by loaded_at desc, load_id desc) as load_rank
        from {{ berka_source('_file_loads') }}
    ) as ranked
    where load_rank = 1
),

raw as (
    select delivered.*
    from {{ berka_source('order') }} as delivered
    inner join loads
        on delivered._file_name = loads.file_name and delivered._dlt_load_id = loads.load_id
),

codes as (
    select
        code_set,
        code,
        english_name,
        warehouse_value,
        channel
    from {{ ref('berka_codes') }}
)
,

normalised as (
    -- "" and " " both mean "no characterisation"
    select
        raw.*,
        coalesce(nullif(trim(raw.k_symbol), ''), '(none)') as k_symbol_key
    from raw
)

select
    normalised.order_id::integer as order_id,
    normalised.account_id::integer as account_id,
    normalised.bank_to as recipient_bank,
    normalised.account_to as recipient_account,
    normalised.amount::numeric(14, 2) as amount,
    nullif(trim(normalised.k_symbol), '') as k_symbol_code,
    coalesce(purpose.warehouse_value, 'unspecified') as payment_purpose,
    'CZK'::text as currency,
    normalised._file_name as source_file,
    normalised._line_number as source_line
from normalised
left join codes as purpose
    on purpose.code_set = 'k_symbol' and normalised.k_symbol_key = purpose.code
