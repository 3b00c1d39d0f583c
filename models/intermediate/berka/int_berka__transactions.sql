-- Berka movements in the core-banking transaction shape: signed amount from the client's side, booked at the
-- start of the booking day (the file has dates only), type and channel from the seed berka_codes.
select
    'berka-' || trans.trans_id as transaction_id,
    trans.trans_id as source_trans_id,
    'berka-' || trans.account_id as account_id,
    trans.booked_on::timestamp as booked_at,
    trans.booked_on as value_date,
    trans.signed_amount as amount,
    trans.currency,
    trans.channel,
    trans.transaction_type,
    trans.direction,
    trans.balance as balance_after,
    nullif(concat_ws('/', trans.counterparty_bank, trans.counterparty_account), '') as counterparty_account,
    trans.type_code as source_type_code,
    trans.operation_code as source_operation_code,
    trans.k_symbol_code as source_k_symbol_code,
    trans.transaction_type in ('statement_fee', 'interest_credited', 'penalty_interest') as is_bank_posting,
    'berka'::text as source_system
from {{ ref('stg_berka__transaction') }} as trans
