{#-
    One row per loan (latest version) of every source system (int_loans_unioned) with its repayment state; keys point
    to the versions valid at start. The Czech bank's loans (source_system 'berka') are CZK with EUR at a fixed
    historical rate (fx_rate_basis 'fixed_historical'); their days past due are unknown (NULL), see
    int_berka_loans_enriched.
-#}
with

loans as (
    select * from {{ ref('int_loans_unioned') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

products as (
    select * from {{ ref('dim_products') }}
)

select
    {{ surrogate_key(['loans.source_system', 'loans.loan_id']) }}::text as loan_key,
    loans.source_system::text as source_system,
    loans.loan_id::text as loan_id,
    coalesce(accounts.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(clients.client_key, {{ unknown_key() }})::text as client_key,
    coalesce(products.product_key, {{ unknown_key() }})::text as product_key,
    {{ date_key('loans.start_date') }}::integer as start_date_key,
    loans.start_date::date as start_date,
    loans.principal::numeric(18, 2) as principal,
    loans.currency::text as currency,
    loans.principal_eur::numeric(18, 2) as principal_eur,
    loans.fx_rate_basis::text as fx_rate_basis,
    loans.annual_rate::numeric(18, 6) as annual_rate,
    loans.term_months::integer as term_months,
    loans.status::text as status,
    loans.installments_scheduled::integer as installments_scheduled,
    loans.installments_paid::integer as installments_paid,
    loans.installments_overdue::integer as installments_overdue,
    loans.scheduled_principal::numeric(18, 2) as scheduled_principal,
    loans.principal_repaid::numeric(18, 2) as principal_repaid,
    loans.interest_paid::numeric(18, 2) as interest_paid,
    loans.outstanding_principal::numeric(18, 2) as outstanding_principal,
    loans.outstanding_principal_eur::numeric(18, 2) as outstanding_principal_eur,
    loans.current_days_past_due::integer as current_days_past_due,
    loans.max_days_past_due::integer as max_days_past_due,
    loans.dpd_bucket::text as dpd_bucket,
    loans.is_non_performing::boolean as is_non_performing,
    loans.updated_at::timestamp as updated_at
from loans
left join accounts
    on {{ point_in_time('accounts', 'account_id', 'loans.account_id', 'loans.start_date', 'loans.source_system') }}
left join clients
    on {{ point_in_time('clients', 'client_id', 'loans.client_id', 'loans.start_date', 'loans.source_system') }}
left join products
    on loans.source_system = products.source_system
    and loans.product_code = products.product_code
