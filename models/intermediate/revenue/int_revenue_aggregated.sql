{#-
    The simulated bank's income per account, day and revenue type, in the shape of int_revenue_unioned: fee and
    interest postings (sign flipped to the bank's side, so charged fees are positive revenue and deposit interest is
    a negative one) plus the interest part of loan payments (booked on the payment day, on the loan's account and
    product).
-#}
with

postings as (
    select
        source_system,
        account_id,
        client_id,
        product_code,
        posting_date as revenue_date,
        posting_type as revenue_type,
        -amount_eur as revenue_eur,
        1 as item_count
    from {{ ref('int_postings_converted_to_eur') }}
),

loan_payments as (
    -- the interest part of each payment (interest is settled before principal), from int_loan_payments_matched
    select * from {{ ref('int_loan_payments_matched') }}
),

loans as (
    select
        loan_id,
        client_id,
        account_id,
        product_code
    from {{ ref('int_loans_deduplicated') }}
),

loan_interest as (
    select
        loan_payments.source_system,
        loans.account_id,
        loans.client_id,
        loans.product_code,
        loan_payments.paid_on as revenue_date,
        'loan_interest' as revenue_type,
        round(loan_payments.interest_paid / loan_payments.fx_rate_per_eur, 2) as revenue_eur,
        1 as item_count
    from loan_payments
    inner join loans on loan_payments.loan_id = loans.loan_id
),

unioned as (
    select * from postings
    union all
    select * from loan_interest
)

select
    source_system,
    account_id,
    client_id,
    product_code,
    revenue_date,
    revenue_type,
    case
        when revenue_type in ('account_fee', 'card_fee', 'fx_fee') then 'fee'
        when revenue_type = 'deposit_interest' then 'interest_expense'
        else 'interest_income'
    end as revenue_category,
    sum(revenue_eur)::numeric(18, 2) as revenue_eur,
    sum(item_count)::integer as item_count
from unioned
group by source_system, account_id, client_id, product_code, revenue_date, revenue_type
