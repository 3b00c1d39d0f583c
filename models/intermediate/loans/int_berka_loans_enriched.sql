/*
    Berka loans in the shape of int_loans_unioned (which unions them with the simulated bank's), with what the data
    set can say about repayment. Rules:
    - status comes from loan.asc (A repaid, C active, B and D defaulted) and is the state at the data set's end;
    - the loans carry no interest (amount = duration x monthly payment), so every payment is principal;
    - principal_repaid counts the UVER payments delivered so far (trans.asc is an extract ending 1994-03-30), so
      outstanding_principal = principal - those payments, and 0 for repaid loans;
    - the files give no due dates: installments overdue, days past due and the DPD bucket are NULL (unknown),
      and is_non_performing follows the status only (B, D);
    - EUR at the fixed historical rate of the daily grid (int_fx_rates_filled_forward), flagged by fx_rate_basis.
*/
with

loans as (
    select * from {{ ref('int_berka_loans_joined') }}
),

payments as (
    select
        loan_id,
        count(*) as payment_count,
        sum(amount) as amount_paid
    from {{ ref('int_berka_loan_payments_attributed') }}
    where loan_id is not null
    group by loan_id
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
),

joined as (
    select
        loans.*,
        fx.rate_per_eur as fx_rate_per_eur,
        fx.fx_rate_basis,
        coalesce(payments.payment_count, 0)::integer as installments_paid,
        least(coalesce(payments.amount_paid, 0), loans.principal)::numeric(18, 2) as principal_repaid
    from loans
    left join payments on loans.loan_id = payments.loan_id
    left join fx on loans.currency = fx.currency and loans.start_date = fx.rate_day
)

select
    source_system,
    loan_id,
    source_loan_id,
    client_id,
    account_id,
    product_code,
    principal,
    currency,
    fx_rate_per_eur,
    fx_rate_basis,
    annual_rate,
    term_months,
    start_date,
    monthly_payment,
    status,
    source_status_code,
    null::timestamp as updated_at,
    term_months::integer as installments_scheduled,
    installments_paid,
    null::integer as installments_overdue,
    principal::numeric(18, 2) as scheduled_principal,
    principal_repaid,
    0::numeric(18, 2) as interest_paid,
    null::integer as current_days_past_due,
    null::integer as max_days_past_due,
    round(principal / fx_rate_per_eur, 2)::numeric(18, 2) as principal_eur,
    case when status = 'repaid' then 0 else principal - principal_repaid end::numeric(18, 2) as outstanding_principal,
    round(case when status = 'repaid' then 0 else principal - principal_repaid end / fx_rate_per_eur, 2)::numeric(
        18, 2
    ) as outstanding_principal_eur,
    null::text as dpd_bucket,
    status = 'defaulted' as is_non_performing
from joined
