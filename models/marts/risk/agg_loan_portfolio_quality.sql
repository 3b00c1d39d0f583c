{#-
    Loan book quality by product and days-past-due bucket, with each product's non-performing loan ratio
    (outstanding principal of non-performing loans over all outstanding principal, in EUR).
-#}
with

loans as (
    select
        loans.*,
        products.product_code
    from {{ ref('fact_loans') }} as loans
    inner join {{ ref('dim_products') }} as products on loans.product_key = products.product_key
),

buckets as (
    select
        source_system,
        product_code,
        dpd_bucket,
        count(*) as loan_count,
        count(*) filter (where is_non_performing) as non_performing_count,
        coalesce(sum(outstanding_principal_eur), 0) as outstanding_principal_eur,
        coalesce(sum(outstanding_principal_eur) filter (where is_non_performing), 0) as non_performing_principal_eur
    from loans
    group by source_system, product_code, dpd_bucket
)

select
    source_system::text as source_system,
    product_code::text as product_code,
    dpd_bucket::text as dpd_bucket,
    loan_count::integer as loan_count,
    non_performing_count::integer as non_performing_count,
    outstanding_principal_eur::numeric(18, 2) as outstanding_principal_eur,
    non_performing_principal_eur::numeric(18, 2) as non_performing_principal_eur,
    round(
        sum(non_performing_principal_eur) over (partition by source_system, product_code)
        / nullif(sum(outstanding_principal_eur) over (partition by source_system, product_code), 0),
        6
    )::numeric(12, 6) as product_npl_ratio
from buckets
