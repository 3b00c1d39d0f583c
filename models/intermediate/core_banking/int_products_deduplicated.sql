{#-
    Dedup rule: the latest version wins (highest updated_at; ties, including exact duplicates, go to the latest
    delivery, then the last line).
-#}
with

ranked as (
    select
        *,
        row_number() over (
            partition by product_code
            order by updated_at desc, delivery_date desc, source_file_name desc, source_line_number desc
        ) as version_rank,
        count(*) over (partition by product_code) as rows_delivered
    from {{ ref('stg_core_banking__products') }}
    where is_valid
)

select
    {{ source_system('core_banking') }} as source_system,
    product_code,
    product_name,
    product_type,
    currency,
    coalesce(monthly_fee, 0)::numeric(18, 2) as monthly_fee,
    coalesce(interest_rate, 0)::numeric(18, 6) as interest_rate,
    updated_at,
    rows_delivered::integer as rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from ranked
where version_rank = 1
