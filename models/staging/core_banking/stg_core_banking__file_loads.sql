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
    loaded_at::timestamptz as loaded_at
from {{ source('core_banking', '_file_loads') }}
