-- Berka standing payment orders (order.asc) with prefixed keys, and the monthly amount in EUR. Orders have no dates
-- in the data set: the rate is the one of the day the order's account was opened (the first day the order can
-- have existed), from the daily grid int_fx_rates_filled_forward (the fixed historical rate, flagged by fx_rate_basis).
with

orders as (
    select * from {{ ref('stg_berka__standing_order') }}
    where is_valid
),

accounts as (
    select
        account_id,
        opened_on
    from {{ ref('stg_berka__account') }}
    where is_valid
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
)

select
    'berka-' || orders.order_id as standing_order_id,
    orders.order_id as source_order_id,
    'berka-' || orders.account_id as account_id,
    orders.amount,
    orders.currency,
    round(orders.amount / fx.rate_per_eur, 2)::numeric(18, 2) as amount_eur,
    fx.fx_rate_basis,
    orders.payment_purpose,
    orders.recipient_bank,
    orders.recipient_account,
    {{ source_system('berka') }} as source_system
from orders
left join accounts on orders.account_id = accounts.account_id
left join fx on orders.currency = fx.currency and accounts.opened_on = fx.rate_day
