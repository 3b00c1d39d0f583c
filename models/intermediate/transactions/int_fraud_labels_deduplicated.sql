{#-
    Dedup rule: the latest investigation outcome wins (highest reported_on, then the latest delivery and line).
-#}
with

winners as (
    {{ deduplicated(
        ref('stg_core_banking__fraud_labels'), 'transaction_id', 'latest_version', version_column='reported_on'
    ) }}
)

select
    {{ source_system('core_banking') }} as source_system,
    transaction_id,
    label,
    label = 'fraud' as is_fraud,
    case when label = 'fraud' then coalesce(fraud_type, 'unspecified') end as fraud_type,
    reported_on,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
