{#-
    Dedup rule: duplicates are exact copies, so the first delivered copy wins (earliest delivery date, then file,
    then line); rows_delivered counts the copies, rows_delivered - 1 were removed as duplicates.
-#}
with

ranked as (
    select
        *,
        row_number() over (
            partition by transaction_id
            order by delivery_date, source_file_name, source_line_number
        ) as version_rank,
        count(*) over (partition by transaction_id) as rows_delivered
    from {{ ref('int_transactions_validated') }}
    where is_valid
)

select
    {{ source_system('core_banking') }} as source_system,
    transaction_id,
    account_id,
    booked_at,
    booked_date,
    value_date,
    amount,
    currency,
    coalesce(channel, 'unknown') as channel,
    mcc,
    merchant,
    counterparty_iban,
    description,
    is_late_arrival,
    rows_delivered::integer as rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from ranked
where version_rank = 1
