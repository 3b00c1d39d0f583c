{#-
    Dedup rule: the latest version wins (highest updated_at; ties, including exact duplicates, go to the latest
    delivery, then the last line).
-#}
with

winners as (
    {{ deduplicated(ref('stg_core_banking__clients'), 'client_id', 'latest_version') }}
)

select
    {{ source_system('core_banking') }} as source_system,
    client_id,
    first_name,
    last_name,
    birth_date,
    national_id,
    email,
    phone,
    street,
    city,
    postal_code,
    country,
    coalesce(segment, 'unknown') as segment,
    risk_rating,
    coalesce(kyc_status, 'unknown') as kyc_status,
    onboarded_on,
    updated_at,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
