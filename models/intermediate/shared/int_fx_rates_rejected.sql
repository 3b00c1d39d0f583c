{{ rejected_rows(ref('stg_bank_api__fx_rates')) }}
