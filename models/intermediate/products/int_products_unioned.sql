{#-
    Every source system's products in one shape, one row per (source_system, product_code): the current version
    (type 1). Each source's conforming model produces these columns (int_products_deduplicated: the simulated bank's
    catalogue exports; int_berka_products_listed: the Czech bank's two products, no fee or rate); a new source adds
    its model here. dim_products selects from it.
-#}
{{ union_sources(
    ['int_products_deduplicated', 'int_berka_products_listed'],
    [
        'source_system', 'product_code', 'product_name', 'product_type', 'currency', 'monthly_fee', 'interest_rate',
        'updated_at'
    ]
) }}
