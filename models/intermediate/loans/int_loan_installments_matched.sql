{#-
    Each scheduled installment next to the payments made for it. Interest is settled before principal
    (a payment first covers interest_due). Days past due: for a paid installment, paid_on - due_date (0 when on
    time); for an unpaid one, as_of_date - due_date once the due date has passed. as_of_date is the latest
    business date delivered by the bank, so results do not depend on the day the warehouse is built.
-#}
with

schedules as (
    select * from {{ ref('int_loan_schedules_deduplicated') }}
),

payments as (
    select
        loan_id,
        installment_no,
        sum(amount) as amount_paid,
        min(paid_on) as first_paid_on,
        max(paid_on) as last_paid_on,
        count(*) as payment_count
    from {{ ref('int_loan_payments_deduplicated') }}
    group by loan_id, installment_no
),

as_of as (
    select max(delivery_date) as as_of_date
    from (
        select delivery_date from {{ ref('stg_core_banking__transactions') }}
        union all
        select delivery_date from {{ ref('stg_core_banking__loan_payments') }}
        union all
        select delivery_date from {{ ref('stg_core_banking__loan_schedules') }}
    ) as deliveries
),

matched as (
    select
        schedules.source_system,
        schedules.loan_id,
        schedules.installment_no,
        schedules.due_date,
        schedules.principal_due,
        schedules.interest_due,
        (schedules.principal_due + schedules.interest_due)::numeric(18, 2) as amount_due,
        coalesce(payments.amount_paid, 0)::numeric(18, 2) as amount_paid,
        payments.first_paid_on,
        payments.last_paid_on,
        coalesce(payments.payment_count, 0)::integer as payment_count,
        as_of.as_of_date
    from schedules
    cross join as_of
    left join payments
        on schedules.loan_id = payments.loan_id
        and schedules.installment_no = payments.installment_no
)

select
    *,
    least(amount_paid, interest_due)::numeric(18, 2) as interest_paid,
    greatest(amount_paid - interest_due, 0)::numeric(18, 2) as principal_paid,
    amount_paid >= amount_due as is_paid,
    case
        when amount_paid >= amount_due then greatest(last_paid_on - due_date, 0)
        when due_date < as_of_date then as_of_date - due_date
        else 0
    end::integer as days_past_due,
    case
        when amount_paid >= amount_due and last_paid_on > due_date then 'paid_late'
        when amount_paid >= amount_due then 'paid_on_time'
        when due_date < as_of_date then 'overdue'
        else 'not_due'
    end as installment_status
from matched
