{#-
    Standing payment orders (the Czech bank's order.asc): the instructions behind the recurring debits in
    fact_transactions, one row per order with its account, the owner, purpose and monthly amount (CZK, and EUR
    at the fixed historical rate, flagged by fx_rate_basis; see int_berka_standing_orders_conformed). The
    recipient's account only as its keyed pseudonym (macros/privacy.sql).
-#}
with

orders as (
    select * from {{ ref('int_standing_orders_unioned') }}
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
    {{ surrogate_key(['orders.source_system', 'orders.standing_order_id']) }}::text as standing_order_key,
    orders.source_system::text as source_system,
    orders.standing_order_id::text as standing_order_id,
    coalesce(accounts.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(clients.client_key, {{ unknown_key() }})::text as client_key,
    orders.account_id::text as account_id,
    orders.payment_purpose::text as payment_purpose,
    orders.recipient_bank::text as recipient_bank,
    {{ pseudonym('orders.recipient_account') }}::text as recipient_account_pseudonym,
    orders.amount::numeric(18, 2) as amount,
    orders.currency::text as currency,
    orders.amount_eur::numeric(18, 2) as amount_eur,
    orders.fx_rate_basis::text as fx_rate_basis
from orders
left join accounts on orders.source_system = accounts.source_system and orders.account_id = accounts.account_id
left join clients on accounts.source_system = clients.source_system and accounts.client_id = clients.client_id
