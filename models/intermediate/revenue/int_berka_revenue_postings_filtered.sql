-- The bank's own bookings in the core-banking postings shape. Amounts are signed from the client's side (fees
-- and charged interest negative, interest credited positive); revenue_amount is the bank's side (= -amount):
-- statement fees (SLUZBY) and penalty interest (SANKC. UROK) earn, interest credited (UROK) costs.
select
    'berka-' || trans_id as posting_id,
    trans_id as source_trans_id,
    'berka-' || account_id as account_id,
    booked_on as posting_date,
    case transaction_type
        when 'statement_fee' then 'account_fee'
        when 'penalty_interest' then 'overdraft_interest'
        when 'interest_credited' then 'deposit_interest'
    end as posting_type,
    signed_amount as amount,
    -signed_amount as revenue_amount,
    currency,
    k_symbol_code as source_k_symbol_code,
    {{ source_system('berka') }} as source_system
from {{ ref('stg_berka__transaction') }}
where is_valid and transaction_type in ('statement_fee', 'interest_credited', 'penalty_interest')
