{#-
    Dedup rule: duplicates are exact copies, so the first delivered copy wins (earliest delivery date, then file,
    then line); rows_delivered counts the copies, rows_delivered - 1 were removed as duplicates.
-#}
with

winners as (
    {{ deduplicated(ref('int_transactions_validated'), 'transaction_id', 'first_delivery') }}
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
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
