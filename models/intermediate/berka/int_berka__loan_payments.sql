-- Loan instalments: movements with k_symbol UVER, attributed to the loan of their account (one loan per account
-- at most). loan_id is NULL when the account has no loan in loan.asc.
select
    'berka-' || trans.trans_id as payment_id,
    trans.trans_id as source_trans_id,
    'berka-' || loans.loan_id as loan_id,
    'berka-' || trans.account_id as account_id,
    trans.booked_on as paid_on,
    trans.amount,
    trans.currency,
    'berka'::text as source_system
from {{ ref('stg_berka__transaction') }} as trans
left join {{ ref('stg_berka__loan') }} as loans on trans.account_id = loans.account_id
where trans.k_symbol_code = 'UVER'
