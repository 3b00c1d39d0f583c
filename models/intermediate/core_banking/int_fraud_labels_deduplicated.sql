{#-
    Dedup rule: the latest investigation outcome wins (highest reported_on, then the latest delivery and line).
-#}
with

ranked as (
    select
        *,
        row_number() over (
            partition by transaction_id
            order by reported_on desc, delivery_date desc, source_file_name desc, source_line_number desc
        ) as version_rank,
        count(*) over (partition by transaction_id) as rows_delivered
    from {{ ref('stg_core_banking__fraud_labels') }}
    where is_valid
)

select
    {{ source_system('core_banking') }} as source_system,
    transaction_id,
    label,
    label = 'fraud' as is_fraud,
    case when label = 'fraud' then coalesce(fraud_type, 'unspecified') end as fraud_type,
    reported_on,
    rows_delivered::integer as rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from ranked
where version_rank = 1
