{#-
    Fees and interest by account, product and day, in EUR, for every source system (int_revenue_unioned): the
    simulated bank's postings plus the interest part of its loan payments; the Czech bank's statement fees (SLUZBY),
    penalty interest (SANKC. UROK) and interest credited (UROK), converted at the fixed historical rate.
-#}
with

revenue as (
    select * from {{ ref('int_revenue_unioned') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

products as (
    select * from {{ ref('dim_products') }}
)

select
    {{ surrogate_key(['revenue.source_system', 'revenue.account_id', 'revenue.product_code',
                      'revenue.revenue_date', 'revenue.revenue_type']) }}::text as revenue_key,
    revenue.source_system::text as source_system,
    coalesce(accounts.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(clients.client_key, {{ unknown_key() }})::text as client_key,
    coalesce(products.product_key, {{ unknown_key() }})::text as product_key,
    {{ date_key('revenue.revenue_date') }}::integer as date_key,
    revenue.account_id::text as account_id,
    revenue.product_code::text as product_code,
    revenue.revenue_date::date as revenue_date,
    revenue.revenue_type::text as revenue_type,
    revenue.revenue_category::text as revenue_category,
    revenue.revenue_eur::numeric(18, 2) as revenue_eur,
    revenue.item_count::integer as item_count
from revenue
left join accounts
    on {{ point_in_time('accounts', 'account_id', 'revenue.account_id',
        'revenue.revenue_date', 'revenue.source_system') }}
left join clients
    on {{ point_in_time('clients', 'client_id', 'revenue.client_id',
        'revenue.revenue_date', 'revenue.source_system') }}
left join products
    on revenue.source_system = products.source_system
    and revenue.product_code = products.product_code
