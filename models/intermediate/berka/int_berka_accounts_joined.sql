-- Berka accounts in the core-banking account shape, with the owning client; every Berka account has one owner.
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
    'berka_current_account'::text as product_code,
    accounts.currency,
    accounts.opened_on,
    null::date as closed_on,
    'active'::text as status,
    accounts.statement_frequency,
    accounts.district_id,
    coalesce(disponents.disponent_count, 0) as disponent_count,
    {{ source_system('berka') }} as source_system
from accounts
left join owners on accounts.account_id = owners.account_id
left join disponents on accounts.account_id = disponents.account_id
