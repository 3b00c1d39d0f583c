{#-
    Dedup rule: a schedule row re-delivered later replaces the earlier one (latest delivery, then the last line).
-#}
with

ranked as (
    select
        *,
        row_number() over (
            partition by loan_id, installment_no
            order by delivery_date desc, source_file_name desc, source_line_number desc
        ) as version_rank,
        count(*) over (partition by loan_id, installment_no) as rows_delivered
    from {{ ref('stg_core_banking__loan_schedules') }}
    where is_valid
)

select
    {{ source_system('core_banking') }} as source_system,
    loan_id,
    installment_no,
    due_date,
    principal_due,
    interest_due,
    rows_delivered::integer as rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from ranked
where version_rank = 1
