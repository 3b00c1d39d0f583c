{#-
    Dedup rule: the latest version wins (highest updated_at; ties, including exact duplicates, go to the latest
    delivery, then the last line).
-#}
with

winners as (
    {{ deduplicated(ref('stg_core_banking__loans'), 'loan_id', 'latest_version') }}
)

select
    {{ source_system('core_banking') }} as source_system,
    loan_id,
    client_id,
    account_id,
    product_code,
    principal,
    currency,
    coalesce(annual_rate, 0)::numeric(18, 6) as annual_rate,
    term_months,
    start_date,
    coalesce(status, 'active') as status,
    updated_at,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
