{#-
    Every source system's payment cards in one shape, one row per (source_system, card_id), with the account and the
    client it was issued to and that client's role. Only the Czech bank delivers a card register
    (int_berka_cards_joined); a new source adds its conforming model here. dim_cards selects from it.
-#}
{{ union_sources(
    ['int_berka_cards_joined'],
    ['source_system', 'card_id', 'account_id', 'client_id', 'holder_role', 'card_type', 'issued_at', 'issued_on']
) }}
