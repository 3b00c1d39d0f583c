{#-
    Current product catalogue of every source system (int_products_unioned; type 1: a product change overwrites),
    with the product type's family. The Czech bank's two products (current account, loan) carry no fee or rate.
-#}
with

products as (
    select * from {{ ref('int_products_unioned') }}
),

catalogue as (
    select * from {{ ref('product_catalogue') }}
)

select
    {{ surrogate_key(['products.source_system', 'products.product_code']) }}::text as product_key,
    products.source_system::text as source_system,
    products.product_code::text as product_code,
    products.product_name::text as product_name,
    coalesce(products.product_type, 'unknown')::text as product_type,
    coalesce(catalogue.product_family, 'other')::text as product_family,
    coalesce(catalogue.is_lending, false)::boolean as is_lending,
    coalesce(catalogue.is_deposit, false)::boolean as is_deposit,
    catalogue.revenue_model::text as revenue_model,
    products.currency::text as currency,
    products.monthly_fee::numeric(18, 2) as monthly_fee,
    products.interest_rate::numeric(18, 6) as interest_rate,
    products.updated_at::timestamp as updated_at
from products
left join catalogue on products.product_type = catalogue.product_type

union all

select
    {{ unknown_key() }}::text as product_key,
    'unknown'::text as source_system,
    'unknown'::text as product_code,
    'Unknown product'::text as product_name,
    'unknown'::text as product_type,
    'other'::text as product_family,
    false as is_lending,
    false as is_deposit,
    null::text as revenue_model,
    null::text as currency,
    null::numeric(18, 2) as monthly_fee,
    null::numeric(18, 6) as interest_rate,
    null::timestamp as updated_at
