-- Czech bank: do borrowers whose account has a card default less? Default rate by the best card on the account.
with

best_card as (
    select
        account_key,
        max(case card_type when 'gold' then 3 when 'classic' then 2 else 1 end) as card_rank
    from {{ ref('dim_cards') }}
    group by account_key
)

select
    case best_card.card_rank when 3 then 'gold' when 2 then 'classic' when 1 then 'junior' else 'no card' end
        as best_card,
    count(*) as loans,
    round(100.0 * count(*) filter (where loans.status = 'defaulted') / count(*), 1) as default_rate_pct
from {{ ref('fact_loans') }} as loans
left join best_card on loans.account_key = best_card.account_key
where loans.source_system = {{ source_system('berka') }}
group by best_card.card_rank
order by default_rate_pct desc
