-- Loan instalments: movements with k_symbol UVER, attributed to the loan of their account (one loan per account
-- at most). loan_id is NULL when the account has no loan in loan.asc. Every loan was granted after the extract's
-- first day (1993-01-01), so numbering a loan's payments by date gives the instalment number. The data set's
-- loans carry no interest (amount = duration x monthly payment), so a payment is all principal; it has no due
-- date either, so lateness is unknown (NULL). EUR at the fixed historical rate of the daily grid
-- (int_fx_rates_filled_forward).
with

trans as (
    select * from {{ ref('stg_berka__transaction') }}
    where is_valid and k_symbol_code = 'UVER'
),

loans as (
    select * from {{ ref('stg_berka__loan') }}
    where is_valid
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
)

select
    'berka-' || trans.trans_id as payment_id,
    trans.trans_id as source_trans_id,
    'berka-' || loans.loan_id as loan_id,
    'berka-' || trans.account_id as account_id,
    case
        when loans.loan_id is not null
            then row_number() over (partition by loans.loan_id order by trans.booked_on, trans.trans_id)
    end::integer as installment_no,
    null::date as due_date,
    trans.booked_on as paid_on,
    trans.amount,
    trans.currency,
    round(trans.amount / fx.rate_per_eur, 2)::numeric(18, 2) as amount_eur,
    fx.fx_rate_basis,
    0::numeric(18, 2) as interest_paid,
    trans.amount as principal_paid,
    null::integer as days_late,
    null::boolean as is_late,
    {{ source_system('berka') }} as source_system
from trans
left join loans on trans.account_id = loans.account_id
left join fx on trans.currency = fx.currency and trans.booked_on = fx.rate_day
