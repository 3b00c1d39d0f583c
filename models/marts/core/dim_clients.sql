{#-
    Clients as a type-2 dimension: every version of int_clients_versioned (valid in [valid_from, valid_to); see
    there how each source versions its clients), plus the unknown member facts fall back to. Personal data
    (macros/privacy.sql, meta.pii in the yml): names stay out of the marts, the birth date is generalised to its year
    and the postal code to its region (postal area); client_id is the bank's record number.
-#}
select
    client_version_key::text as client_key,
    source_system::text as source_system,
    client_id::text as client_id,
    extract(year from birth_date)::integer as birth_year,
    sex::text as sex,
    city::text as city,
    country::text as country,
    district_id::integer as district_id,
    region::text as region,
    segment::text as segment,
    risk_rating::integer as risk_rating,
    kyc_status::text as kyc_status,
    onboarded_on::date as onboarded_on,
    updated_at::timestamp as updated_at,
    version_number::integer as version_number,
    valid_from::timestamp as valid_from,
    valid_to::timestamp as valid_to,
    is_current::boolean as is_current
from {{ ref('int_clients_versioned') }}

union all

select
    {{ unknown_key() }}::text as client_key,
    'unknown'::text as source_system,
    'unknown'::text as client_id,
    null::integer as birth_year,
    null::text as sex,
    null::text as city,
    null::text as country,
    null::integer as district_id,
    null::text as region,
    'unknown'::text as segment,
    null::integer as risk_rating,
    'unknown'::text as kyc_status,
    null::date as onboarded_on,
    null::timestamp as updated_at,
    1::integer as version_number,
    '1900-01-01'::timestamp as valid_from,
    '9999-12-31'::timestamp as valid_to,
    true as is_current
