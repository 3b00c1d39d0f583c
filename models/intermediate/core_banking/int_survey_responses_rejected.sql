{{ rejected_rows(ref('stg_bank_api__survey_responses')) }}
