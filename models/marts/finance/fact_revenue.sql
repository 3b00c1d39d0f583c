{#-
    Fees and interest by account, product and day (postings plus the interest part of loan payments), in EUR.
    The Czech bank's rows (int_berka_revenue_aggregated) are its statement fees (SLUZBY), penalty interest
    (SANKC. UROK) and interest credited (UROK), converted at the fixed historical rate.
-#}
with

revenue as (
    select
        source_system,
        account_id,
        client_id,
        product_code,
        revenue_date,
        revenue_type,
        revenue_category,
        revenue_eur,
        item_count
    from {{ ref('int_revenue_unioned') }}

    union all

    select
        source_system,
        account_id,
        client_id,
        product_code,
        revenue_date,
        revenue_type,
        revenue_category,
        revenue_eur,
        item_count
    from {{ ref('int_berka_revenue_aggregated') }}
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
