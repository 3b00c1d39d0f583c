{#-
    Every source system's booked transactions in one shape: one row per (source_system, transaction_id), valid and
    deduplicated, with the account's client and product as the source knows them, the amount in EUR and the lineage
    of the delivered row. Each source's conforming model produces these columns; a new source adds its model here.
-#}
{{ union_sources(
    ['int_transactions_enriched', 'int_berka_transactions_enriched'],
    [
        'source_system', 'transaction_id', 'account_id', 'client_id', 'product_code', 'booked_at', 'booked_date',
        'value_date', 'amount', 'currency', 'fx_rate_per_eur', 'amount_eur', 'fx_rate_basis', 'channel',
        'transaction_type', 'mcc', 'merchant_category', 'merchant', 'counterparty_iban', 'counterparty_account',
        'description', 'balance_after', 'is_late_arrival', 'rows_delivered', 'source_file_name',
        'source_line_number', 'delivery_date', 'loaded_at'
    ]
) }}
