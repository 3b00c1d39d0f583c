-- The file ledger of the Czech bank (the same design as the landing files'): one row per delivered file, naming
-- the load the raw tables hold for it. A changed re-delivery replaces the row, so every row is the counting load.
select
    file_loads.file_name as source_file_name,
    file_loads.entity,
    file_loads.content_sha256,
    file_loads.encoding,
    file_loads.lines_in,
    file_loads.rows_loaded,
    file_loads.rows_quarantined,
    nullif(file_loads.new_columns, '') as new_columns,
    file_loads.load_id,
    file_loads.loaded_at,
    true as is_counting_load
from {{ source('raw_berka', '_file_loads') }} as file_loads
