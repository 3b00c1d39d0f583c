{#-
    Dedup rule: postings are events: the first delivered copy wins (earliest delivery, then the first line).
-#}
with

winners as (
    {{ deduplicated(ref('stg_core_banking__postings'), 'posting_id', 'first_delivery') }}
)

select
    {{ source_system('core_banking') }} as source_system,
    posting_id,
    account_id,
    posting_date,
    posting_type,
    amount,
    currency,
    description,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
