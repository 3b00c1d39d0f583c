{#- Annuity schedules carry rounding to the last installment, so sum(principal_due) = principal exactly. -#}
{{ config(severity='error', group='bank_warehouse') }}

with

scheduled as (
    select
        loan_id,
        sum(principal_due) as scheduled_principal,
        count(*) as installments
    from {{ ref('int_loan_schedules_deduplicated') }}
    group by loan_id
)

select
    loans.loan_id,
    loans.principal,
    scheduled.scheduled_principal,
    scheduled.installments
from {{ ref('int_loans_deduplicated') }} as loans
inner join scheduled on loans.loan_id = scheduled.loan_id
where loans.principal != scheduled.scheduled_principal
