{#-
    The simulated bank's account versions in the shape of int_accounts_versioned: each valid row of the account
    exports is a version, dated by its updated_at. Copies of one version (same account_id and updated_at) collapse to
    one: the latest delivery wins, then the last line. Null defaults: status from closed_on, limits 0; the columns
    only the Czech bank delivers (statement frequency, branch district) are NULL, disponents 0.
-#}
with

versions as (
    {{ deduplicated(ref('stg_core_banking__accounts'), ['account_id', 'updated_at'], 'latest_delivery') }}
)

select
    {{ source_system('core_banking') }} as source_system,
    account_id,
    client_id,
    iban,
    product_code,
    currency,
    opened_on,
    closed_on,
    coalesce(status, case when closed_on is not null then 'closed' else 'active' end) as status,
    coalesce(credit_limit, 0)::numeric(18, 2) as credit_limit,
    coalesce(overdraft_limit, 0)::numeric(18, 2) as overdraft_limit,
    null::text as statement_frequency,
    null::integer as district_id,
    0::integer as disponent_count,
    updated_at,
    updated_at as changed_at,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from versions
