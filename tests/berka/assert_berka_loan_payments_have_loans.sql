-- Every loan instalment (k_symbol UVER) is paid from an account that has a loan, and not before the loan starts.
{{ config(group='bank_warehouse') }}

select
    payments.payment_id,
    payments.paid_on,
    loans.start_date
from {{ ref('int_berka_loan_payments_attributed') }} as payments
left join {{ ref('int_berka_loans_joined') }} as loans on payments.loan_id = loans.loan_id
where loans.loan_id is null or payments.paid_on < loans.start_date
