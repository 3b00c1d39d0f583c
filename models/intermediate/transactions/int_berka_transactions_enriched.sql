-- Berka movements in the shape of int_transactions_unioned (which unions them with the simulated bank's): signed
-- amount from the client's side, booked at the start of the booking day (the file has dates only), type and channel
-- from the seed berka_codes, the account's owner as the client, the amount in EUR at the fixed historical rate (the
-- daily grid int_fx_rates_filled_forward), and the balance after the movement as delivered.
with

trans as (
    select * from {{ ref('stg_berka__transaction') }}
    where is_valid
),

owners as (
    select
        account_id,
        client_id
    from {{ ref('stg_berka__disposition') }}
    where is_valid and disposition_type = 'owner'
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
),

loaded as (
    -- when the file's counting load was recorded (staging reads that load only)
    select
        source_file_name,
        loaded_at
    from {{ ref('stg_berka__file_loads') }}
    where is_counting_load
)

select
    {{ source_system('berka') }} as source_system,
    'berka-' || trans.trans_id as transaction_id,
    trans.trans_id as source_trans_id,
    'berka-' || trans.account_id as account_id,
    'berka-' || owners.client_id as client_id,
    'berka_current_account'::text as product_code,
    trans.booked_on::timestamp as booked_at,
    trans.booked_on as booked_date,
    trans.booked_on as value_date,
    trans.signed_amount as amount,
    trans.currency,
    fx.rate_per_eur as fx_rate_per_eur,
    round(trans.signed_amount / fx.rate_per_eur, 2)::numeric(18, 2) as amount_eur,
    fx.fx_rate_basis,
    trans.channel,
    trans.transaction_type,
    trans.direction,
    null::text as mcc,
    'none'::text as merchant_category,
    null::text as merchant,
    null::text as counterparty_iban,
    nullif(concat_ws('/', trans.counterparty_bank, trans.counterparty_account), '') as counterparty_account,
    concat_ws(' ', trans.type_code, trans.operation_code, trans.k_symbol_code) as description,
    trans.balance as balance_after,
    trans.type_code as source_type_code,
    trans.operation_code as source_operation_code,
    trans.k_symbol_code as source_k_symbol_code,
    trans.transaction_type in ('statement_fee', 'interest_credited', 'penalty_interest') as is_bank_posting,
    false as is_late_arrival,
    1 as rows_delivered,
    trans.source_file_name,
    trans.source_line_number,
    null::date as delivery_date,
    loaded.loaded_at
from trans
left join owners on trans.account_id = owners.account_id
left join fx on trans.currency = fx.currency and trans.booked_on = fx.rate_day
left join loaded on trans.source_file_name = loaded.source_file_name
