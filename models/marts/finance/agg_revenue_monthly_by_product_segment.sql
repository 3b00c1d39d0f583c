{#- Monthly revenue by product and client segment (segment of the client version valid on the revenue day). -#}
select
    date_trunc('month', revenue.revenue_date)::date as revenue_month,
    revenue.source_system::text as source_system,
    products.product_code::text as product_code,
    products.product_type::text as product_type,
    clients.segment::text as segment,
    revenue.revenue_category::text as revenue_category,
    sum(revenue.revenue_eur)::numeric(18, 2) as revenue_eur,
    sum(revenue.item_count)::integer as item_count,
    count(distinct revenue.account_key)::integer as account_count
from {{ ref('fact_revenue') }} as revenue
inner join {{ ref('dim_products') }} as products on revenue.product_key = products.product_key
inner join {{ ref('dim_clients') }} as clients on revenue.client_key = clients.client_key
group by 1, 2, 3, 4, 5, 6
