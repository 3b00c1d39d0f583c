-- Per transaction file: raw rows = loaded into fact_transactions + rejected + removed duplicates, next to the
-- lines the ingest quarantined. The singular test assert_every_transaction_line_is_accounted_for checks the
-- totals; this view shows where a difference would come from.
with

raw_rows as (
    select
        _file_name as source_file_name,
        count(*) as raw_rows
    from {{ source('core_banking', 'transactions') }}
    group by _file_name
),

staged as (
    select
        source_file_name,
        count(*) filter (where not is_valid) as rejected_rows,
        count(*) filter (where is_valid) as valid_rows
    from {{ ref('int_transactions_validated') }}
    group by source_file_name
),

kept as (
    select
        source_file_name,
        count(*) as kept_rows
    from {{ ref('fact_transactions') }}
    group by source_file_name
),

quarantined as (
    select
        source_file_name,
        count(*) as quarantined_lines
    from {{ ref('stg_core_banking__quarantined_lines') }}
    where entity = 'transactions'
    group by source_file_name
)

select
    raw_rows.source_file_name,
    raw_rows.raw_rows,
    coalesce(kept.kept_rows, 0) as kept_rows,
    coalesce(staged.rejected_rows, 0) as rejected_rows,
    coalesce(staged.valid_rows, 0) - coalesce(kept.kept_rows, 0) as duplicate_rows_removed,
    coalesce(quarantined.quarantined_lines, 0) as quarantined_lines
from raw_rows
left join staged on raw_rows.source_file_name = staged.source_file_name
left join kept on raw_rows.source_file_name = kept.source_file_name
left join quarantined on raw_rows.source_file_name = quarantined.source_file_name
order by raw_rows.source_file_name
