{#-
    Dedup rule: the latest version wins (highest updated_at; ties, including exact duplicates, go to the latest
    delivery, then the last line).
-#}
with

winners as (
    {{ deduplicated(ref('stg_core_banking__products'), 'product_code', 'latest_version') }}
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
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
