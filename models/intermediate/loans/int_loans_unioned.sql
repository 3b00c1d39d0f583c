{#-
    Every source system's loans in one shape: one row per (source_system, loan_id), the latest version with its
    repayment state, the principal and the outstanding principal in EUR with the basis of the rate. Each source's
    conforming model produces these columns (int_loans_enriched: the simulated bank; int_berka_loans_enriched: the
    Czech bank, days past due unknown); a new source adds its model here. fact_loans selects from it.
-#}
{{ union_sources(
    ['int_loans_enriched', 'int_berka_loans_enriched'],
    [
        'source_system', 'loan_id', 'client_id', 'account_id', 'product_code', 'principal', 'currency',
        'fx_rate_per_eur', 'fx_rate_basis', 'annual_rate', 'term_months', 'start_date', 'status', 'updated_at',
        'installments_scheduled', 'installments_paid', 'installments_overdue', 'scheduled_principal',
        'principal_repaid', 'interest_paid', 'current_days_past_due', 'max_days_past_due', 'principal_eur',
        'outstanding_principal', 'outstanding_principal_eur', 'dpd_bucket', 'is_non_performing'
    ]
) }}
