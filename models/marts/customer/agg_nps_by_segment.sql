{#- Net promoter score and average CSAT per client segment and survey month. -#}
select
    date_trunc('month', satisfaction.survey_date)::date as survey_month,
    satisfaction.source_system::text as source_system,
    clients.segment::text as segment,
    count(*)::integer as response_count,
    count(*) filter (where satisfaction.nps_category = 'promoter')::integer as promoter_count,
    count(*) filter (where satisfaction.nps_category = 'detractor')::integer as detractor_count,
    round(
        100.0 * (
            count(*) filter (where satisfaction.nps_category = 'promoter')
            - count(*) filter (where satisfaction.nps_category = 'detractor')
        ) / count(*),
        2
    )::numeric(6, 2) as net_promoter_score,
    round(avg(satisfaction.csat_score), 3)::numeric(6, 3) as average_csat
from {{ ref('dim_satisfaction') }} as satisfaction
inner join {{ ref('dim_clients') }} as clients on satisfaction.client_key = clients.client_key
where satisfaction.satisfaction_key != {{ unknown_key() }}
group by 1, 2, 3
