-- Czech bank: share of loans in default (status B or D) by the borrower's district, largest loan books first.
select
    clients.city as district,
    clients.region,
    count(*) as loans,
    count(*) filter (where loans.status = 'defaulted') as defaulted,
    round(100.0 * count(*) filter (where loans.status = 'defaulted') / count(*), 1) as default_rate_pct,
    round(sum(loans.principal_eur), 0) as principal_eur
from {{ ref('fact_loans') }} as loans
inner join {{ ref('dim_clients') }} as clients on loans.client_key = clients.client_key
where loans.source_system = {{ source_system('berka') }}
group by clients.city, clients.region
having count(*) >= 15
order by default_rate_pct desc, loans desc
limit 10
