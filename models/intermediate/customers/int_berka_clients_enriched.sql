-- Berka clients in the shape of int_clients_versioned; natural keys prefixed 'berka-' so they never meet the
-- simulated bank's. The extract has no change dates: one version per client from 1900-01-01. The data set has no
-- names, postal codes, segments, risk ratings or KYC states (NULL, segment and kyc_status 'unknown').
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
    null::text as first_name,
    null::text as last_name,
    clients.birth_date,
    clients.sex,
    districts.district_name as city,
    null::text as postal_code,
    'CZ'::text as country,
    clients.district_id,
    districts.region,
    'unknown'::text as segment,
    null::integer as risk_rating,
    'unknown'::text as kyc_status,
    first_account.onboarded_on,
    null::timestamp as updated_at,
    '1900-01-01'::timestamp as changed_at,
    {{ source_system('berka') }} as source_system
from clients
left join districts on clients.district_id = districts.district_id
left join first_account on clients.client_id = first_account.client_id
