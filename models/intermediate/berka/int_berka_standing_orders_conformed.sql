-- Berka standing payment orders (order.asc) with prefixed keys.
select
    'berka-' || order_id as standing_order_id,
    order_id as source_order_id,
    'berka-' || account_id as account_id,
    amount,
    currency,
    payment_purpose,
    recipient_bank,
    recipient_account,
    {{ source_system('berka') }} as source_system
from {{ ref('stg_berka__standing_order') }}
where is_valid
