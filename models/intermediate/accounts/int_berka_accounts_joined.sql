-- Berka accounts in the shape of int_accounts_versioned, with the owning client (every Berka account has one owner):
-- the extract has no change dates, so each account is one version from 1900-01-01; no IBAN, no limits (0).
with

accounts as (
    select * from {{ ref('stg_berka__account') }}
    where is_valid
),

owners as (
    select
        account_id,
        client_id
    from {{ ref('stg_berka__disposition') }}
    where is_valid and disposition_type = 'owner'
),

disponents as (
    select
        account_id,
        count(*) as disponent_count
    from {{ ref('stg_berka__disposition') }}
    where is_valid and disposition_type = 'disponent'
    group by account_id
)

select
    'berka-' || accounts.account_id as account_id,
    accounts.account_id as source_account_id,
    'berka-' || owners.client_id as client_id,
    null::text as iban,
    'berka_current_account'::text as product_code,
    accounts.currency,
    accounts.opened_on,
    null::date as closed_on,
    'active'::text as status,
    0::numeric(18, 2) as credit_limit,
    0::numeric(18, 2) as overdraft_limit,
    accounts.statement_frequency,
    accounts.district_id,
    coalesce(disponents.disponent_count, 0)::integer as disponent_count,
    null::timestamp as updated_at,
    '1900-01-01'::timestamp as changed_at,
    {{ source_system('berka') }} as source_system
from accounts
left join owners on accounts.account_id = owners.account_id
left join disponents on accounts.account_id = disponents.account_id
