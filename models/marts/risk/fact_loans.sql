{#- One row per loan (latest version) with its repayment state; keys point to the versions valid at start. -#}
with

loans as (
    select * from {{ ref('int_loans_enriched') }}
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
    on loans.source_system = accounts.source_system
    and loans.account_id = accounts.account_id
    and loans.start_date >= accounts.valid_from
    and loans.start_date < accounts.valid_to
left join clients
    on loans.source_system = clients.source_system
    and loans.client_id = clients.client_id
    and loans.start_date >= clients.valid_from
    and loans.start_date < clients.valid_to
left join products
    on loans.source_system = products.source_system
    and loans.product_code = products.product_code
