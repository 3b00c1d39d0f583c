{#-
    Every version of every account of every source system, in one shape, with its type-2 validity: one row per
    (source_system, account_id, changed_at). The account's client is its owner.
    - int_account_versions_deduplicated: the simulated bank's versions from its exports (updated_at);
    - int_berka_accounts_joined: the Czech bank, one version per account from 1900-01-01, with the statement
      frequency, the branch district and how many disponents the account has.
-#}
{{ versioned_entity(
    'account_id',
    'account_version_key',
    ['int_account_versions_deduplicated', 'int_berka_accounts_joined'],
    [
        'source_system', 'account_id', 'client_id', 'iban', 'product_code', 'currency', 'opened_on', 'closed_on',
        'status', 'credit_limit', 'overdraft_limit', 'statement_frequency', 'district_id', 'disponent_count',
        'updated_at'
    ]
) }}
