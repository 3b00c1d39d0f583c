{#-
    Nothing lost, nothing invented: every raw transaction row is in fact_transactions, in the rejected model,
    or was removed as a counted duplicate (rows_delivered - 1 per transaction). Returns one row on mismatch.
-#}
{{ config(severity='error', group='bank_warehouse') }}

with

counts as (
    select
        (select count(*) from {{ source('core_banking', 'transactions') }}) as raw_rows,
        (
            select count(*) from {{ ref('fact_transactions') }}
            where source_system = {{ source_system('core_banking') }}
        ) as fact_rows,
        (select count(*) from {{ ref('int_transactions_rejected') }}) as rejected_rows,
        (
            select coalesce(sum(rows_delivered - 1), 0) from {{ ref('fact_transactions') }}
            where source_system = {{ source_system('core_banking') }}
        ) as duplicate_rows
)

select *
from counts
where raw_rows != fact_rows + rejected_rows + duplicate_rows
