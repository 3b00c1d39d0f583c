{#-
    Dedup rule: the latest version wins (highest updated_at; ties, including exact duplicates, go to the latest
    delivery, then the last line).
-#}
with

ranked as (
    select
        *,
        row_number() over (
            partition by client_id
            order by updated_at desc, delivery_date desc, source_file_name desc, source_line_number desc
        ) as version_rank,
        count(*) over (partition by client_id) as rows_delivered
    from {{ ref('stg_core_banking__clients') }}
    where is_valid
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
    rows_delivered::integer as rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from ranked
where version_rank = 1
