{#-
    One row per loan payment of every source system (int_loan_payments_unioned), with the installment it pays
    (interest settled before principal) and the keys of its loan. The Czech bank's payments are its UVER movements:
    no schedule, so due date and lateness are unknown (NULL), no interest part (its loans carry none), EUR at the
    fixed historical rate.
-#}
with

payments as (
    select * from {{ ref('int_loan_payments_unioned') }}
),

loans as (
    select * from {{ ref('fact_loans') }}
)

select
    {{ surrogate_key(['payments.source_system', 'payments.payment_id']) }}::text as payment_key,
    payments.source_system::text as source_system,
    payments.payment_id::text as payment_id,
    coalesce(loans.loan_key, {{ unknown_key() }})::text as loan_key,
    coalesce(loans.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(loans.client_key, {{ unknown_key() }})::text as client_key,
    coalesce(loans.product_key, {{ unknown_key() }})::text as product_key,
    {{ date_key('payments.paid_on') }}::integer as date_key,
    payments.loan_id::text as loan_id,
    payments.installment_no::integer as installment_no,
    payments.due_date::date as due_date,
    payments.paid_on::date as paid_on,
    payments.amount::numeric(18, 2) as amount,
    payments.currency::text as currency,
    payments.amount_eur::numeric(18, 2) as amount_eur,
    payments.interest_paid::numeric(18, 2) as interest_paid,
    payments.principal_paid::numeric(18, 2) as principal_paid,
    payments.days_late::integer as days_late,
    payments.is_late::boolean as is_late
from payments
left join loans
    on payments.source_system = loans.source_system
    and payments.loan_id = loans.loan_id
