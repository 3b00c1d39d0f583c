-- Who may use which Berka account: owners and disponents (disp.asc), one row per disposition.
select
    'berka-' || disp_id as account_holder_id,
    disp_id as source_disp_id,
    'berka-' || account_id as account_id,
    'berka-' || client_id as client_id,
    disposition_type as holder_role,
    {{ source_system('berka') }} as source_system
from {{ ref('stg_berka__disposition') }}
where is_valid
