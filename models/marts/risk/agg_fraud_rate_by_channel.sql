{#- Confirmed fraud per channel and month: count and amount rates over all booked transactions. -#}
with

transactions as (
    select * from {{ ref('fact_transactions') }}
),

fraud as (
    select transaction_key from {{ ref('fact_fraud') }}
    where is_fraud
)

select
    date_trunc('month', transactions.booked_date)::date as booking_month,
    transactions.source_system::text as source_system,
    transactions.channel::text as channel,
    count(*)::integer as transaction_count,
    count(fraud.transaction_key)::integer as fraud_count,
    sum(abs(transactions.amount_eur))::numeric(18, 2) as amount_eur,
    coalesce(sum(abs(transactions.amount_eur)) filter (where fraud.transaction_key is not null), 0)::numeric(18, 2)
        as fraud_amount_eur,
    round(count(fraud.transaction_key)::numeric / count(*), 6)::numeric(12, 6) as fraud_rate
from transactions
left join fraud on transactions.transaction_key = fraud.transaction_key
group by 1, 2, 3
