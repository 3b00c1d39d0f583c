{#-
    The simulated bank's client versions in the shape of int_clients_versioned: each valid row of the client exports
    is a version, dated by its updated_at, whenever it was delivered and however many builds ran since. Copies of one
    version (same client_id and updated_at) collapse to one: the latest delivery wins, then the last line.
    Null defaults: segment and kyc_status 'unknown'. Direct identifiers (national id, e-mail, phone, street) are left
    out.
-#}
with

versions as (
    {{ deduplicated(ref('stg_core_banking__clients'), ['client_id', 'updated_at'], 'latest_delivery') }}
)

select
    {{ source_system('core_banking') }} as source_system,
    client_id,
    first_name,
    last_name,
    birth_date,
    null::text as sex,
    city,
    postal_code,
    country,
    null::integer as district_id,
    -- the postal area (country and the code's first two characters) generalises the postal code for the marts
    case when postal_code is not null then concat_ws('-', country, left(postal_code, 2)) end as region,
    coalesce(segment, 'unknown') as segment,
    risk_rating,
    coalesce(kyc_status, 'unknown') as kyc_status,
    onboarded_on,
    updated_at,
    updated_at as changed_at,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from versions
