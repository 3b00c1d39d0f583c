{#- The Czech bank's rejected rows: the berka rows of int_rejected_rows_unioned. -#}
{{ config(materialized='view') }}

select *
from {{ ref('int_rejected_rows_unioned') }}
where source_system = {{ source_system('berka') }}
