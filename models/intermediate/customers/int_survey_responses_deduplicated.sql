{#- Dedup rule: one row per response_id, the latest answered_at wins (the API can re-deliver a response). -#}
with

ranked as (
    select
        *,
        row_number() over (partition by response_id order by answered_at desc nulls last, load_id desc) as answer_rank
    from {{ ref('stg_bank_api__survey_responses') }}
    where is_valid
)

select
    {{ source_system('core_banking') }} as source_system,
    response_id,
    client_id,
    survey_date,
    coalesce(channel, 'unknown') as channel,
    nps_score,
    csat_score,
    case
        when nps_score >= 9 then 'promoter'
        when nps_score >= 7 then 'passive'
        when nps_score is not null then 'detractor'
    end as nps_category,
    survey_comment,
    answered_at
from ranked
where answer_rank = 1
