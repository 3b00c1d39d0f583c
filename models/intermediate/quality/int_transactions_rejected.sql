{#- The simulated bank's rejected transaction rows: the transactions of int_rejected_rows_unioned. -#}
{{ config(materialized='view') }}

select *
from {{ ref('int_rejected_rows_unioned') }}
where source_system = {{ source_system('core_banking') }} and entity = 'transactions'
