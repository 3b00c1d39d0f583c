{{ rejected_rows(ref('stg_core_banking__accounts')) }}
