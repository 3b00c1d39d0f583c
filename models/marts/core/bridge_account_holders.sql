{#-
    Who may use which account, one row per (account, client, role): the account-holder bridge between
    dim_accounts and dim_clients. Roles: owner (every account has exactly one) and disponent (the Czech bank's
    disp.asc: may operate the account without owning it), every source system from int_account_holders_unioned.
    The simulated bank delivers owners only (accounts.client_id). Keys point to the current versions of the account
    and the client.
-#}
with

holders as (
    select * from {{ ref('int_account_holders_unioned') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
    where is_current and source_system != 'unknown'
),

clients as (
    select * from {{ ref('dim_clients') }}
    where is_current
)

select
    {{ surrogate_key(['holders.source_system', 'holders.account_holder_id']) }}::text as account_holder_key,
    holders.source_system::text as source_system,
    holders.account_holder_id::text as account_holder_id,
    coalesce(accounts.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(clients.client_key, {{ unknown_key() }})::text as client_key,
    holders.account_id::text as account_id,
    holders.client_id::text as client_id,
    holders.holder_role::text as holder_role
from holders
left join accounts on holders.source_system = accounts.source_system and holders.account_id = accounts.account_id
left join clients on holders.source_system = clients.source_system and holders.client_id = clients.client_id
