-- No delivered code may fall through the translation: a code missing from seed berka_codes shows up here.
{{ config(group='bank_warehouse') }}

select
    'account_frequency' as code_set,
    frequency_code as code
from {{ ref('stg_berka__account') }}
where statement_frequency is null
union all
select
    'loan_status' as code_set,
    status_code as code
from {{ ref('stg_berka__loan') }}
where loan_status is null
union all
select
    'transaction' as code_set,
    type_code || '/' || coalesce(operation_code, '') || '/' || coalesce(k_symbol_code, '') as code
from {{ ref('stg_berka__transaction') }}
where direction is null or transaction_type is null
union all
select
    'k_symbol' as code_set,
    k_symbol_code as code
from {{ ref('stg_berka__standing_order') }}
where k_symbol_code is not null and payment_purpose = 'unspecified'
