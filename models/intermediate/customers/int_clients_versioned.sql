{#-
    Every version of every client of every source system, in one shape, with its type-2 validity
    (scd2_validity): one row per (source_system, client_id, changed_at).
    - The simulated bank versions its clients itself: each valid row of the client exports is a version, dated by
      its updated_at, whenever it was delivered and however many builds ran since (copies of one version: the
      latest delivery wins). Several changes delivered before one build are several versions, and a version
      delivered late takes its place in the history.
    - The Czech bank's data set is one extract without change dates: one version per client, from 1900-01-01.
    Direct identifiers (national id, e-mail, phone, street) are left out.
-#}
with

core_banking_versions as (
    {{ deduplicated(ref('stg_core_banking__clients'), ['client_id', 'updated_at'], 'latest_delivery') }}
),

versions as (
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
        null::text as region,
        coalesce(segment, 'unknown') as segment,
        risk_rating,
        coalesce(kyc_status, 'unknown') as kyc_status,
        onboarded_on,
        updated_at,
        updated_at as changed_at
    from core_banking_versions

    union all

    select
        source_system,
        client_id,
        null::text as first_name,
        null::text as last_name,
        birth_date,
        sex,
        city,
        null::text as postal_code,
        country,
        district_id,
        region,
        'unknown'::text as segment,
        null::integer as risk_rating,
        'unknown'::text as kyc_status,
        onboarded_on,
        null::timestamp as updated_at,
        '1900-01-01'::timestamp as changed_at
    from {{ ref('int_berka_clients_enriched') }}
)

select
    {{ surrogate_key(['source_system', 'client_id', 'changed_at']) }} as client_version_key,
    *,
    {{ scd2_validity('client_id', 'changed_at') }}
from versions
