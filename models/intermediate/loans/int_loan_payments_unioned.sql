{#-
    Every source system's loan payments in one shape: one row per (source_system, payment_id), with the installment
    it pays where the source schedules them, the interest and principal parts, lateness and the amount in EUR. Each
    source's conforming model produces these columns (int_loan_payments_matched: the simulated bank;
    int_berka_loan_payments_attributed: the Czech bank, no schedule, so due date and lateness are NULL); a new source
    adds its model here. fact_payments selects from it.
-#}
{{ union_sources(
    ['int_loan_payments_matched', 'int_berka_loan_payments_attributed'],
    [
        'source_system', 'payment_id', 'loan_id', 'installment_no', 'due_date', 'paid_on', 'amount', 'currency',
        'amount_eur', 'fx_rate_basis', 'interest_paid', 'principal_paid', 'days_late', 'is_late'
    ]
) }}
