{#-
    The simulated bank's loan payments in the shape of int_loan_payments_unioned: each payment next to the
    installment it pays (due date, interest due), interest settled before principal, lateness against the due date,
    and the amount in EUR (daily rate of the payment day, carried forward). int_revenue_aggregated books the
    interest part as revenue.
-#}
with

payments as (
    select * from {{ ref('int_loan_payments_deduplicated') }}
),

installments as (
    select * from {{ ref('int_loan_installments_matched') }}
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
)

select
    payments.source_system,
    payments.payment_id,
    payments.loan_id,
    payments.installment_no,
    installments.due_date,
    payments.paid_on,
    payments.amount,
    payments.currency,
    fx.rate_per_eur as fx_rate_per_eur,
    round(payments.amount / fx.rate_per_eur, 2)::numeric(18, 2) as amount_eur,
    fx.fx_rate_basis,
    least(payments.amount, coalesce(installments.interest_due, 0))::numeric(18, 2) as interest_paid,
    greatest(payments.amount - coalesce(installments.interest_due, 0), 0)::numeric(18, 2) as principal_paid,
    greatest(payments.paid_on - installments.due_date, 0)::integer as days_late,
    (payments.paid_on > installments.due_date)::boolean as is_late
from payments
left join installments
    on payments.loan_id = installments.loan_id
    and payments.installment_no = installments.installment_no
left join fx on payments.currency = fx.currency and payments.paid_on = fx.rate_day
