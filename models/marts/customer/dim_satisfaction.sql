{#-
    Survey responses as a dimension of client satisfaction (NPS category, CSAT), one row per response. The
    respondent's free-text comment is personal data of unknown content and is not published.
-#}
with

responses as (
    select * from {{ ref('int_survey_responses_deduplicated') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
)

select
    {{ surrogate_key(['responses.source_system', 'responses.response_id']) }}::text as satisfaction_key,
    responses.source_system::text as source_system,
    responses.response_id::text as response_id,
    coalesce(clients.client_key, {{ unknown_key() }})::text as client_key,
    {{ date_key('responses.survey_date') }}::integer as date_key,
    responses.client_id::text as client_id,
    responses.survey_date::date as survey_date,
    responses.channel::text as channel,
    responses.nps_score::integer as nps_score,
    responses.nps_category::text as nps_category,
    responses.csat_score::integer as csat_score,
    responses.answered_at::timestamp as answered_at
from responses
left join clients
    on {{ point_in_time('clients', 'client_id', 'responses.client_id',
        'responses.survey_date', 'responses.source_system') }}

union all

select
    {{ unknown_key() }}::text as satisfaction_key,
    'unknown'::text as source_system,
    'unknown'::text as response_id,
    {{ unknown_key() }}::text as client_key,
    -1 as date_key,
    null::text as client_id,
    null::date as survey_date,
    'unknown'::text as channel,
    null::integer as nps_score,
    'unknown'::text as nps_category,
    null::integer as csat_score,
    null::timestamp as answered_at
