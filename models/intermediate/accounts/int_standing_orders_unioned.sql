{#-
    Every source system's standing payment orders in one shape, one row per (source_system, standing_order_id), with
    the monthly amount in EUR. Only the Czech bank delivers them (int_berka_standing_orders_conformed); a new source
    adds its conforming model here. dim_standing_orders selects from it.
-#}
{{ union_sources(
    ['int_berka_standing_orders_conformed'],
    [
        'source_system', 'standing_order_id', 'account_id', 'amount', 'currency', 'amount_eur', 'fx_rate_basis',
        'payment_purpose', 'recipient_bank', 'recipient_account'
    ]
) }}
