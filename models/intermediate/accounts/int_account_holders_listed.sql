{#-
    The simulated bank's account holders in the shape of int_account_holders_unioned: its exports name one client
    per account, the owner, so each account's current version gives one holder, '<account_id>|owner'.
-#}
select
    source_system,
    account_id || '|owner' as account_holder_id,
    account_id,
    client_id,
    'owner'::text as holder_role
from {{ ref('int_accounts_versioned') }}
where is_current and source_system = {{ source_system('core_banking') }}
