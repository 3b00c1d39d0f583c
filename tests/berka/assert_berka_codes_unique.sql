-- The code translation seed has one row per (code_set, code).
{{ config(group='bank_warehouse') }}

select
    code_set,
    code,
    count(*) as copies
from {{ ref('berka_codes') }}
group by code_set, code
having count(*) > 1
