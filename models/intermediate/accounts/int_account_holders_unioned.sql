{#-
    Who may use which account, every source system in one shape: one row per (source_system, account_holder_id)
    with the account, the client and the role (owner, or disponent: may operate the account without owning it).
    Each source's conforming model produces these columns (int_account_holders_listed: the simulated bank's owners;
    int_berka_account_holders_conformed: the Czech bank's dispositions); a new source adds its model here.
    bridge_account_holders selects from it.
-#}
{{ union_sources(
    ['int_account_holders_listed', 'int_berka_account_holders_conformed'],
    ['source_system', 'account_holder_id', 'account_id', 'client_id', 'holder_role']
) }}
