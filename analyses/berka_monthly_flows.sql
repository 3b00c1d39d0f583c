-- Czech bank: money in and out per month (CZK and EUR at the fixed historical rate) and active accounts.
select
    dates.year_month,
    count(*) as transactions,
    count(distinct facts.account_key) as active_accounts,
    sum(facts.amount) filter (where facts.direction = 'credit') as credits_czk,
    -sum(facts.amount) filter (where facts.direction = 'debit') as debits_czk,
    sum(facts.amount) as net_czk,
    round(sum(facts.amount_eur), 0) as net_eur
from {{ ref('fact_transactions') }} as facts
inner join {{ ref('dim_dates') }} as dates on facts.date_key = dates.date_key
where facts.source_system = {{ source_system('berka') }}
group by dates.year_month
order by dates.year_month
