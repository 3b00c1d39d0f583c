{#-
    Every version of every client of every source system, in one shape, with its type-2 validity: one row per
    (source_system, client_id, changed_at). Each source's conforming model says how it versions its clients:
    - int_client_versions_deduplicated: the simulated bank's versions from its exports (updated_at), so several
      changes delivered before one build are several versions and a version delivered late takes its place;
    - int_berka_clients_enriched: the Czech bank's extract has no change dates, one version per client from 1900-01-01.
-#}
{{ versioned_entity(
    'client_id',
    'client_version_key',
    ['int_client_versions_deduplicated', 'int_berka_clients_enriched'],
    [
        'source_system', 'client_id', 'first_name', 'last_name', 'birth_date', 'sex', 'city', 'postal_code', 'country',
        'district_id', 'region', 'segment', 'risk_rating', 'kyc_status', 'onboarded_on', 'updated_at'
    ]
) }}
