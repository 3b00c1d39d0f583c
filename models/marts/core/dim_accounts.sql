{#-
    Accounts as a type-2 dimension: every version of int_accounts_versioned (valid in [valid_from, valid_to); the
    account's client is its owner), plus the unknown member facts fall back to. The Czech bank's disponents are in
    bridge_account_holders. The IBAN is published only as its keyed pseudonym (macros/privacy.sql).
-#}
select
    account_version_key::text as account_key,
    source_system::text as source_system,
    account_id::text as account_id,
    client_id::text as client_id,
    {{ pseudonym('iban') }}::text as iban_pseudonym,
    product_code::text as product_code,
    currency::text as currency,
    opened_on::date as opened_on,
    closed_on::date as closed_on,
    status::text as status,
    credit_limit::numeric(18, 2) as credit_limit,
    overdraft_limit::numeric(18, 2) as overdraft_limit,
    statement_frequency::text as statement_frequency,
    district_id::integer as district_id,
    disponent_count::integer as disponent_count,
    updated_at::timestamp as updated_at,
    version_number::integer as version_number,
    valid_from::timestamp as valid_from,
    valid_to::timestamp as valid_to,
    is_current::boolean as is_current
from {{ ref('int_accounts_versioned') }}

union all

select
    {{ unknown_key() }}::text as account_key,
    'unknown'::text as source_system,
    'unknown'::text as account_id,
    'unknown'::text as client_id,
    null::text as iban_pseudonym,
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
