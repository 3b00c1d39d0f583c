-- Berka loans in the core-banking loan shape; the borrower is the account's owner.
with

owners as (
    select
        account_id,
        client_id
    from {{ ref('stg_berka__disposition') }}
    where is_valid and disposition_type = 'owner'
)

select
    'berka-' || loans.loan_id as loan_id,
    loans.loan_id as source_loan_id,
    'berka-' || owners.client_id as client_id,
    'berka-' || loans.account_id as account_id,
    'berka_loan'::text as product_code,
    loans.amount as principal,
    loans.currency,
    null::numeric as annual_rate,
    loans.duration_months as term_months,
    loans.granted_on as start_date,
    loans.monthly_payment,
    loans.loan_status as status,
    loans.status_code as source_status_code,
    loans.contract_state,
    loans.repayment_state,
    {{ source_system('berka') }} as source_system
from {{ ref('stg_berka__loan') }} as loans
left join owners on loans.account_id = owners.account_id
where loans.is_valid
