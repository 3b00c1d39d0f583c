{{ rejected_rows(ref('int_transactions_validated')) }}
