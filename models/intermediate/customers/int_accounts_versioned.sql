{#-
    Every version of every account of every source system, in one shape, with its type-2 validity
    (scd2_validity): one row per (source_system, account_id, changed_at). The account's client is its owner.
    - The simulated bank: each valid row of the account exports is a version, dated by its updated_at (copies of
      one version: the latest delivery wins), so history does not depend on how often the warehouse was built.
    - The Czech bank: one version per account, from 1900-01-01, with the statement frequency, the branch district
      and how many disponents the account has.
-#}
with

core_banking_versions as (
    {{ deduplicated(ref('stg_core_banking__accounts'), ['account_id', 'updated_at'], 'latest_delivery') }}
),

versions as (
    select
        {{ source_system('core_banking') }} as source_system,
        {{ core_banking_account_columns() }},
        null::text as statement_frequency,
        null::integer as district_id,
        0::integer as disponent_count,
        updated_at,
        updated_at as changed_at
    from core_banking_versions

    union all

    select
        source_system,
        account_id,
        client_id,
        null::text as iban,
        product_code,
        currency,
        opened_on,
        closed_on,
        status,
        0::numeric(18, 2) as credit_limit,
        0::numeric(18, 2) as overdraft_limit,
        statement_frequency,
        district_id,
        disponent_count::integer as disponent_count,
        null::timestamp as updated_at,
        '1900-01-01'::timestamp as changed_at
    from {{ ref('int_berka_accounts_joined') }}
)

select
    {{ surrogate_key(['source_system', 'account_id', 'changed_at']) }} as account_version_key,
    *,
    {{ scd2_validity('account_id', 'changed_at') }}
from versions
