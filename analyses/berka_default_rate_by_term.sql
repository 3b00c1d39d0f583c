-- Czech bank: default rate and average loan by term; do longer loans default more?
select
    term_months,
    count(*) as loans,
    round(100.0 * count(*) filter (where status = 'defaulted') / count(*), 1) as default_rate_pct,
    round(avg(principal), 0) as average_principal_czk
from {{ ref('fact_loans') }}
where source_system = {{ source_system('berka') }}
group by term_months
order by term_months
