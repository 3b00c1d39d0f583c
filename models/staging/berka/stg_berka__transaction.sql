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
    from {{ berka_source('trans') }} as delivered
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
    -- "" and " " both mean "none" for the codes
    select
        raw.*,
        coalesce(nullif(trim(raw.operation), ''), '(none)') as operation_key,
        coalesce(nullif(trim(raw.k_symbol), ''), '(none)') as k_symbol_key
    from raw
)

select
    normalised.trans_id::integer as trans_id,
    normalised.account_id::integer as account_id,
    make_date(
        1900 + substr(normalised.date, 1, 2)::integer,
        substr(normalised.date, 3, 2)::integer,
        substr(normalised.date, 5, 2)::integer
    ) as booked_on,
    normalised.type as type_code,
    nullif(trim(normalised.operation), '') as operation_code,
    nullif(trim(normalised.k_symbol), '') as k_symbol_code,
    direction.warehouse_value as direction,
    coalesce(k_symbol.warehouse_value, operation_codes.warehouse_value) as transaction_type,
    coalesce(k_symbol.channel, operation_codes.channel) as channel,
    normalised.amount::numeric(14, 2) as amount,
    case when direction.warehouse_value = 'credit' then 1 else -1 end * normalised.amount::numeric(14, 2)
        as signed_amount,
    normalised.balance::numeric(14, 2) as balance,
    nullif(trim(normalised.bank), '') as counterparty_bank,
    nullif(trim(normalised.account), '') as counterparty_account,
    'CZK'::text as currency,
    normalised._file_name as source_file,
    normalised._line_number as source_line
from normalised
left join codes as direction
    on direction.code_set = 'transaction_direction' and normalised.type = direction.code
left join codes as operation_codes
    on operation_codes.code_set = 'operation' and normalised.operation_key = operation_codes.code
left join codes as k_symbol
    on k_symbol.code_set = 'k_symbol' and normalised.k_symbol_key = k_symbol.code
