{#-
    Dedup rule: a schedule row re-delivered later replaces the earlier one (latest delivery, then the last line).
-#}
with

winners as (
    {{ deduplicated(ref('stg_core_banking__loan_schedules'), ['loan_id', 'installment_no'], 'latest_delivery') }}
)

select
    {{ source_system('core_banking') }} as source_system,
    loan_id,
    installment_no,
    due_date,
    principal_due,
    interest_due,
    rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from winners
