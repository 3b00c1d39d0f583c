-- Revenue postings are exactly the fee and interest movements, amount for amount, per month and type.
{{ config(group='bank_warehouse') }}

with

postings as (
    select
        date_trunc('month', posting_date) as month_start,
        posting_type,
        count(*) as n,
        sum(amount) as total
    from {{ ref('int_berka_revenue_postings_filtered') }}
    group by 1, 2
),

movements as (
    select
        date_trunc('month', booked_on) as month_start,
        case k_symbol_code
            when 'SLUZBY' then 'account_fee'
            when 'SANKC. UROK' then 'overdraft_interest'
            when 'UROK' then 'deposit_interest'
        end as posting_type,
        count(*) as n,
        sum(signed_amount) as total
    from {{ ref('stg_berka__transaction') }}
    where is_valid and k_symbol_code in ('SLUZBY', 'SANKC. UROK', 'UROK')
    group by 1, 2
)

select
    coalesce(postings.month_start, movements.month_start) as month_start,
    coalesce(postings.posting_type, movements.posting_type) as posting_type,
    postings.n as posting_count,
    postings.total as posting_total,
    movements.n as movement_count,
    movements.total as movement_total
from postings
full outer join movements using (month_start, posting_type)
where postings.n is distinct from movements.n or postings.total is distinct from movements.total
