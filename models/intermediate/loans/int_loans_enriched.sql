{#-
    Latest version of each loan with its repayment state as of the latest delivered business date:
    outstanding principal, current days past due (oldest overdue unpaid installment), the DPD bucket and the
    non-performing flag (defaulted, or 90+ days past due, the EBA definition's backstop).
-#}
with

loans as (
    select * from {{ ref('int_loans_deduplicated') }}
),

installments as (
    select
        loan_id,
        count(*) as installments_scheduled,
        count(*) filter (where is_paid) as installments_paid,
        count(*) filter (where installment_status = 'overdue') as installments_overdue,
        sum(principal_due) as scheduled_principal,
        sum(principal_paid) as principal_repaid,
        sum(interest_paid) as interest_paid,
        max(days_past_due) filter (where installment_status = 'overdue') as current_days_past_due,
        max(days_past_due) as max_days_past_due
    from {{ ref('int_loan_installments_matched') }}
    group by loan_id
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
),

accounts as (
    select
        account_id,
        client_id
    from {{ ref('int_accounts_versioned') }}
    where is_current and source_system = {{ source_system('core_banking') }}
),

joined as (
    select
        loans.source_system,
        loans.loan_id,
        loans.client_id,
        loans.account_id,
        loans.product_code,
        loans.principal,
        loans.currency,
        fx.rate_per_eur as fx_rate_per_eur,
        fx.fx_rate_basis,
        loans.annual_rate,
        loans.term_months,
        loans.start_date,
        loans.status,
        loans.updated_at,
        coalesce(installments.installments_scheduled, 0)::integer as installments_scheduled,
        coalesce(installments.installments_paid, 0)::integer as installments_paid,
        coalesce(installments.installments_overdue, 0)::integer as installments_overdue,
        installments.scheduled_principal::numeric(18, 2) as scheduled_principal,
        coalesce(installments.principal_repaid, 0)::numeric(18, 2) as principal_repaid,
        coalesce(installments.interest_paid, 0)::numeric(18, 2) as interest_paid,
        coalesce(installments.current_days_past_due, 0)::integer as current_days_past_due,
        coalesce(installments.max_days_past_due, 0)::integer as max_days_past_due,
        accounts.account_id is not null as has_known_account
    from loans
    left join installments on loans.loan_id = installments.loan_id
    left join fx on loans.currency = fx.currency and loans.start_date = fx.rate_day
    left join accounts on loans.account_id = accounts.account_id
)

select
    *,
    round(principal / fx_rate_per_eur, 2)::numeric(18, 2) as principal_eur,
    case when status = 'repaid' then 0 else principal - principal_repaid end::numeric(18, 2)
        as outstanding_principal,
    round(
        case when status = 'repaid' then 0 else principal - principal_repaid end / fx_rate_per_eur, 2
    )::numeric(18, 2) as outstanding_principal_eur,
    case
        when current_days_past_due = 0 then 'current'
        when current_days_past_due < 30 then '1-29'
        when current_days_past_due < 60 then '30-59'
        when current_days_past_due < 90 then '60-89'
        else '90+'
    end as dpd_bucket,
    status = 'defaulted' or current_days_past_due >= 90 as is_non_performing
from joined
