{#-
    Every source system's revenue in one shape: the bank's income per (source_system, account, product, day,
    revenue type) in EUR, with its category (fee, interest_income, interest_expense). Each source's conforming model
    produces these columns (int_revenue_aggregated: the simulated bank's postings and loan interest;
    int_berka_revenue_aggregated: the Czech bank's fees and interest); a new source adds its model here.
    fact_revenue selects from it.
-#}
{{ union_sources(
    ['int_revenue_aggregated', 'int_berka_revenue_aggregated'],
    [
        'source_system', 'account_id', 'client_id', 'product_code', 'revenue_date', 'revenue_type',
        'revenue_category', 'revenue_eur', 'item_count'
    ]
) }}
