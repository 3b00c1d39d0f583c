-- The Berka ingest's ledger of loaded file contents; the latest load of a file is the one its rows are read from.
select
    file_loads.file_name as source_file_name,
    file_loads.entity,
    file_loads.content_sha256,
    file_loads.encoding,
    file_loads.lines_in::bigint as lines_in,
    file_loads.rows_loaded::bigint as rows_loaded,
    file_loads.rows_quarantined::bigint as rows_quarantined,
    nullif(file_loads.new_columns::text, '') as new_columns,
    file_loads.load_id,
    file_loads.loaded_at::timestamptz as loaded_at,
    row_number() over (
        partition by file_loads.file_name order by file_loads.loaded_at desc, file_loads.load_id desc
    ) = 1 as is_counting_load
from {{ berka_source('_file_loads') }} as file_loads
