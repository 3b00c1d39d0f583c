{#-
    Dedup rule: payments are events: the first delivered copy wins (earliest delivery, then the first line).
-#}
with

winners as (
    {{ deduplicated(ref('stg_core_banking__loan_payments'), 'payment_id', 'first_delivery') }}
)

select
    {{ source_system('core_banking') }} as source_system,
    payment_id,
    loan_id,
    installment_no,
    paid_on,
    amount,
    currency,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
