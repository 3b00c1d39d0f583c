{#-
    Dedup rule: payments are events: the first delivered copy wins (earliest delivery, then the first line).
-#}
with

ranked as (
    select
        *,
        row_number() over (
            partition by payment_id
            order by delivery_date, source_file_name, source_line_number
        ) as version_rank,
        count(*) over (partition by payment_id) as rows_delivered
    from {{ ref('stg_core_banking__loan_payments') }}
    where is_valid
)

select
    {{ source_system('core_banking') }} as source_system,
    payment_id,
    loan_id,
    installment_no,
    paid_on,
    amount,
    currency,
    rows_delivered::integer as rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from ranked
where version_rank = 1
