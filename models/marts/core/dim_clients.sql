{#-
    Clients as a type-2 dimension, built from the snapshot. A version is valid in [valid_from, valid_to);
    the first version of each client is opened at 1900-01-01 so facts older than the first snapshot still find
    a version. Direct identifiers (national id, e-mail, phone, street) stay out of the marts.
    The Czech bank's clients (source_system 'berka') have one version each (the data set is a single extract
    without change dates): valid from 1900-01-01, current, keyed on (source_system, client_id, valid_from) like
    every version. They bring sex, district and region; names, segment and ratings are not in the data set.
-#}
with

versions as (
    select
        *,
        row_number() over (partition by client_id order by dbt_valid_from) as version_number
    from {{ ref('snap_core_banking__clients') }}
),

berka as (
    select * from {{ ref('int_berka_clients_enriched') }}
)

select
    {{ surrogate_key(['source_system', 'client_id', 'dbt_valid_from']) }}::text as client_key,
    source_system::text as source_system,
    client_id::text as client_id,
    first_name::text as first_name,
    last_name::text as last_name,
    birth_date::date as birth_date,
    null::text as sex,
    city::text as city,
    postal_code::text as postal_code,
    country::text as country,
    null::integer as district_id,
    null::text as region,
    segment::text as segment,
    risk_rating::integer as risk_rating,
    kyc_status::text as kyc_status,
    onboarded_on::date as onboarded_on,
    updated_at::timestamp as updated_at,
    version_number::integer as version_number,
    (case when version_number = 1 then '1900-01-01'::timestamp else dbt_valid_from end)::timestamp as valid_from,
    coalesce(dbt_valid_to, '9999-12-31'::timestamp)::timestamp as valid_to,
    (dbt_valid_to is null)::boolean as is_current
from versions

union all

select
    {{ surrogate_key(['source_system', 'client_id', "'1900-01-01 00:00:00'::timestamp"]) }}::text as client_key,
    source_system::text as source_system,
    client_id::text as client_id,
    null::text as first_name,
    null::text as last_name,
    birth_date::date as birth_date,
    sex::text as sex,
    city::text as city,
    null::text as postal_code,
    country::text as country,
    district_id::integer as district_id,
    region::text as region,
    'unknown'::text as segment,
    null::integer as risk_rating,
    'unknown'::text as kyc_status,
    onboarded_on::date as onboarded_on,
    null::timestamp as updated_at,
    1::integer as version_number,
    '1900-01-01'::timestamp as valid_from,
    '9999-12-31'::timestamp as valid_to,
    true as is_current
from berka

union all

select
    {{ unknown_key() }}::text as client_key,
    'unknown'::text as source_system,
    'unknown'::text as client_id,
    null::text as first_name,
    null::text as last_name,
    null::date as birth_date,
    null::text as sex,
    null::text as city,
    null::text as postal_code,
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
