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
    {{ core_banking_account_columns() }},
    updated_at,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
