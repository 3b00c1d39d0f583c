select
    file_name as source_file_name,
    line_number::bigint as source_line_number,
    split_part(file_name, '/', 1) as entity,
    raw_line,
    reason,
    _dlt_load_id as load_id,
    _loaded_at::timestamptz as loaded_at
from {{ source('core_banking', '_quarantine') }}
