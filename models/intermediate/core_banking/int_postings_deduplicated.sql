{#-
    Dedup rule: postings are events: the first delivered copy wins (earliest delivery, then the first line).
-#}
with

ranked as (
    select
        *,
        row_number() over (
            partition by posting_id
            order by delivery_date, source_file_name, source_line_number
        ) as version_rank,
        count(*) over (partition by posting_id) as rows_delivered
    from {{ ref('stg_core_banking__postings') }}
    where is_valid
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
    rows_delivered::integer as rows_delivered,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from ranked
where version_rank = 1
