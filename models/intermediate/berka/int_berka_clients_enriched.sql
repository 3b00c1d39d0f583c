-- Berka clients in the core-banking client shape; natural keys prefixed 'berka-' so they never meet
-- the simulated bank's.
with

clients as (
    select * from {{ ref('stg_berka__client') }}
    where is_valid
),

districts as (
    select * from {{ ref('stg_berka__district') }}
    where is_valid
),

first_account as (
    -- a client becomes a client of the bank with the first account they own or may operate
    select
        disp.client_id,
        min(acc.opened_on) as onboarded_on
    from {{ ref('stg_berka__disposition') }} as disp
    inner join {{ ref('stg_berka__account') }} as acc on disp.account_id = acc.account_id
    where disp.is_valid and acc.is_valid
    group by disp.client_id
)

select
    'berka-' || clients.client_id as client_id,
    clients.client_id as source_client_id,
    clients.birth_date,
    clients.sex,
    clients.district_id,
    districts.district_name as city,
    districts.region,
    'CZ'::text as country,
    first_account.onboarded_on,
    {{ source_system('berka') }} as source_system
from clients
left join districts on clients.district_id = districts.district_id
left join first_account on clients.client_id = first_account.client_id
