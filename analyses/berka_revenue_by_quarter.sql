-- Czech bank: what the bank earned (statement fees, penalty interest) and paid (interest credited) per quarter, EUR.
select
    dates.year_quarter,
    sum(revenue.revenue_eur) filter (where revenue.revenue_type = 'account_fee') as fees_eur,
    sum(revenue.revenue_eur) filter (where revenue.revenue_type = 'overdraft_interest') as penalty_interest_eur,
    sum(revenue.revenue_eur) filter (where revenue.revenue_type = 'deposit_interest') as interest_paid_eur,
    sum(revenue.revenue_eur) as net_eur
from {{ ref('fact_revenue') }} as revenue
inner join {{ ref('dim_dates') }} as dates on revenue.date_key = dates.date_key
where revenue.source_system = {{ source_system('berka') }}
group by dates.year_quarter
order by dates.year_quarter
