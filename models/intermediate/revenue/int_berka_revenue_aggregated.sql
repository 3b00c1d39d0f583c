-- The bank's income from Berka accounts per account, day and revenue type, in the shape of int_revenue_unioned
-- (which unions it): statement fees (SLUZBY) and penalty interest (SANKC. UROK) earn, interest credited
-- (UROK) costs. revenue_eur is the bank's side at the fixed historical rate of the daily grid
-- (int_fx_rates_filled_forward).
with

postings as (
    select * from {{ ref('int_berka_revenue_postings_filtered') }}
),

accounts as (
    select
        account_id,
        client_id,
        product_code
    from {{ ref('int_berka_accounts_joined') }}
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
)

select
    postings.source_system,
    postings.account_id,
    accounts.client_id,
    accounts.product_code,
    postings.posting_date as revenue_date,
    postings.posting_type as revenue_type,
    case
        when postings.posting_type = 'account_fee' then 'fee'
        when postings.posting_type = 'deposit_interest' then 'interest_expense'
        else 'interest_income'
    end as revenue_category,
    sum(postings.revenue_amount)::numeric(18, 2) as revenue_amount,
    sum(round(postings.revenue_amount / fx.rate_per_eur, 2))::numeric(18, 2) as revenue_eur,
    count(*)::integer as item_count
from postings
left join accounts on postings.account_id = accounts.account_id
left join fx on postings.currency = fx.currency and postings.posting_date = fx.rate_day
group by 1, 2, 3, 4, 5, 6, 7
