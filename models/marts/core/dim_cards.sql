{#-
    Payment cards (the Czech bank's card.asc; the simulated bank delivers no card register): one row per card,
    with the account and the client it was issued to (through the disposition) and that client's role.
-#}
with

cards as (
    select * from {{ ref('int_cards_unioned') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
    where is_current
),

clients as (
    select * from {{ ref('dim_clients') }}
    where is_current
)

select
    {{ surrogate_key(['cards.source_system', 'cards.card_id']) }}::text as card_key,
    cards.source_system::text as source_system,
    cards.card_id::text as card_id,
    coalesce(accounts.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(clients.client_key, {{ unknown_key() }})::text as client_key,
    cards.account_id::text as account_id,
    cards.client_id::text as client_id,
    cards.holder_role::text as holder_role,
    cards.card_type::text as card_type,
    cards.issued_at::timestamp as issued_at,
    cards.issued_on::date as issued_on,
    {{ date_key('cards.issued_on') }}::integer as issued_date_key
from cards
left join accounts on cards.source_system = accounts.source_system and cards.account_id = accounts.account_id
left join clients on cards.source_system = clients.source_system and cards.client_id = clients.client_id
