{#-
    One row per loan payment, matched to its scheduled installment (interest settled before principal).
    The Czech bank's payments are its UVER movements (int_berka_loan_payments_attributed): no schedule, so due date and
    lateness are unknown (NULL), no interest part (its loans carry none), EUR at the fixed historical rate.
-#}
with

payments as (
    select
        source_system,
        payment_id,
        loan_id,
        installment_no,
        paid_on,
        amount,
        currency
    from {{ ref('int_loan_payments_deduplicated') }}
),

installments as (
    select * from {{ ref('int_loan_installments_matched') }}
),

loans as (
    select * from {{ ref('fact_loans') }}
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
),

core_banking as (
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
        installments.due_date::date as due_date,
        payments.paid_on::date as paid_on,
        payments.amount::numeric(18, 2) as amount,
        payments.currency::text as currency,
        round(payments.amount / fx.rate_per_eur, 2)::numeric(18, 2) as amount_eur,
        least(payments.amount, coalesce(installments.interest_due, 0))::numeric(18, 2) as interest_paid,
        greatest(payments.amount - coalesce(installments.interest_due, 0), 0)::numeric(18, 2) as principal_paid,
        greatest(payments.paid_on - installments.due_date, 0)::integer as days_late,
        (payments.paid_on > installments.due_date)::boolean as is_late
    from payments
    left join installments
        on payments.loan_id = installments.loan_id
        and payments.installment_no = installments.installment_no
    left join loans
        on payments.source_system = loans.source_system
        and payments.loan_id = loans.loan_id
    left join fx on payments.currency = fx.currency and payments.paid_on = fx.rate_day
),

berka as (
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
        null::integer as days_late,
        null::boolean as is_late
    from {{ ref('int_berka_loan_payments_attributed') }} as payments
    left join loans
        on payments.source_system = loans.source_system
        and payments.loan_id = loans.loan_id
)

select * from core_banking
union all
select * from berka
