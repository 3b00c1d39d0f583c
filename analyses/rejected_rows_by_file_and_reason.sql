-- Rejected core-banking rows per landing file and reason code, the shape of the generator's manifest
-- (files.<file>.defects.<defect>) so both can be compared line by line.
select
    entity,
    source_file_name,
    rejection_reason,
    count(*) as rejected_rows
from {{ ref('int_rejected_rows_unioned') }}
group by entity, source_file_name, rejection_reason
order by source_file_name, rejection_reason
