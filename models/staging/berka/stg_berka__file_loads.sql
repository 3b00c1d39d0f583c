-- The Berka ingest's ledger of loaded file contents; the latest load of a file is the one its rows are read from.
select
    file_name as source_file_name,
    entity,
    content_sha256,
    encoding,
    lines_in::bigint as lines_in,
    rows_loaded::bigint as rows_loaded,
    rows_quarantined::bigint as rows_quarantined,
    nullif(new_columns::text, '') as new_columns,
    load_id,
    loaded_at::timestamptz as loaded_at,
    row_number() over (partition by file_name order by loaded_at desc, load_id desc) = 1 as is_counting_load
from {{ berka_source('_file_loads') }}
