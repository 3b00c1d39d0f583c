-- Berka cards with the account and client they belong to (through the disposition).
select
    'berka-' || cards.card_id as card_id,
    cards.card_id as source_card_id,
    'berka-' || disp.account_id as account_id,
    'berka-' || disp.client_id as client_id,
    disp.disposition_type as holder_role,
    cards.card_type,
    cards.issued_at,
    cards.issued_on,
    {{ source_system('berka') }} as source_system
from {{ ref('stg_berka__card') }} as cards
inner join {{ ref('stg_berka__disposition') }} as disp on cards.disp_id = disp.disp_id
where cards.is_valid and disp.is_valid
