with

source as (
    select * from {{ source('bank_api', 'survey_responses') }}
),

parsed as (
    select
        {{ clean_text('response_id::text') }} as response_id,
        {{ clean_text('client_id::text') }} as client_id,
        survey_date::date as survey_date,
        {{ clean_code('channel::text') }} as channel,
        nps_score::integer as nps_score,
        csat_score::integer as csat_score,
        {{ clean_text('comment::text') }} as survey_comment,
        answered_at::timestamp as answered_at,
        _dlt_id as record_id,
        _dlt_load_id as load_id
    from source
),

flagged as (
    select
        *,
        {{ rejection_reason(
            missing_mandatory="response_id is null or client_id is null or survey_date is null",
            out_of_range="nps_score not between 0 and 10 or csat_score not between 1 and 5"
        ) }} as rejection_reason
    from parsed
)

select
    response_id,
    client_id,
    survey_date,
    channel,
    nps_score,
    csat_score,
    survey_comment,
    answered_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    record_id,
    load_id
from flagged
