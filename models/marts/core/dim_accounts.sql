{#-
    Accounts as a type-2 dimension from the snapshot; same validity rules as dim_clients. One row per account
    version; the account's client is its owner. The Czech bank's accounts ('berka') have one version each and
    add the statement frequency, the branch district and how many disponents (clients allowed to operate the
    account without owning it) it has; the holders themselves are in bridge_account_holders.
-#}
with

versions as (
    select
        *,
        row_number() over (partition by account_id order by dbt_valid_from) as version_number
    from {{ ref('snap_core_banking__accounts') }}
),

berka as (
    select * from {{ ref('int_berka_accounts_joined') }}
)

select
    {{ surrogate_key(['source_system', 'account_id', 'dbt_valid_from']) }}::text as account_key,
    source_system::text as source_system,
    account_id::text as account_id,
    client_id::text as client_id,
    iban::text as iban,
    product_code::text as product_code,
    currency::text as currency,
    opened_on::date as opened_on,
    closed_on::date as closed_on,
    status::text as status,
    credit_limit::numeric(18, 2) as credit_limit,
    overdraft_limit::numeric(18, 2) as overdraft_limit,
    null::text as statement_frequency,
    null::integer as district_id,
    0::integer as disponent_count,
    updated_at::timestamp as updated_at,
    version_number::integer as version_number,
    (case when version_number = 1 then '1900-01-01'::timestamp else dbt_valid_from end)::timestamp as valid_from,
    coalesce(dbt_valid_to, '9999-12-31'::timestamp)::timestamp as valid_to,
    (dbt_valid_to is null)::boolean as is_current
from versions

union all

select
    {{ surrogate_key(['source_system', 'account_id', "'1900-01-01 00:00:00'::timestamp"]) }}::text as account_key,
    source_system::text as source_system,
    account_id::text as account_id,
    client_id::text as client_id,
    null::text as iban,
    product_code::text as product_code,
    currency::text as currency,
    opened_on::date as opened_on,
    closed_on::date as closed_on,
    status::text as status,
    0::numeric(18, 2) as credit_limit,
    0::numeric(18, 2) as overdraft_limit,
    statement_frequency::text as statement_frequency,
    district_id::integer as district_id,
    disponent_count::integer as disponent_count,
    null::timestamp as updated_at,
    1::integer as version_number,
    '1900-01-01'::timestamp as valid_from,
    '9999-12-31'::timestamp as valid_to,
    true as is_current
from berka

union all

select
    {{ unknown_key() }}::text as account_key,
    'unknown'::text as source_system,
    'unknown'::text as account_id,
    'unknown'::text as client_id,
    null::text as iban,
    'unknown'::text as product_code,
    null::text as currency,
    null::date as opened_on,
    null::date as closed_on,
    'unknown'::text as status,
    null::numeric(18, 2) as credit_limit,
    null::numeric(18, 2) as overdraft_limit,
    null::text as statement_frequency,
    null::integer as district_id,
    null::integer as disponent_count,
    null::timestamp as updated_at,
    1::integer as version_number,
    '1900-01-01'::timestamp as valid_from,
    '9999-12-31'::timestamp as valid_to,
    true as is_current
