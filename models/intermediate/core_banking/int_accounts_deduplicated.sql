{#-
    Dedup rule: the latest version wins (highest updated_at; ties, including exact duplicates, go to the latest
    delivery, then the last line).
-#}
with

winners as (
    {{ deduplicated(ref('stg_core_banking__accounts'), 'account_id', 'latest_version') }}
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
    updated_at,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
