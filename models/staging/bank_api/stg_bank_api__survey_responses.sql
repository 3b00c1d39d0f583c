{#- The API's survey records arrive typed (dlt). An over-long text (limits of the contract's surveys entity) is
    rejected as text_too_long, never cut; see macros/value_checks.sql. -#}
{%- set problems = ['text_length_problem'] -%}

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
        {#- integer once known to be in range: a delivered bigint beyond it would stop the build -#}
        (case when nps_score between 0 and 10 then nps_score end)::integer as nps_score,
        (case when csat_score between 1 and 5 then csat_score end)::integer as csat_score,
        nps_score as delivered_nps_score,
        csat_score as delivered_csat_score,
        {{ clean_text('comment::text') }} as survey_comment,
        answered_at::timestamp as answered_at,
        {{ text_problem('surveys', cast='::text') }} as text_length_problem,
        _dlt_id as record_id,
        _dlt_load_id as load_id
    from source
),

flagged as (
    select
        *,
        {{ rejection_reason(
            problems=problems,
            missing_mandatory="response_id is null or client_id is null or survey_date is null",
            out_of_range="delivered_nps_score not between 0 and 10 or delivered_csat_score not between 1 and 5"
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
    {{ rejection_detail('rejection_reason', problems, notes={
        'out_of_range': "'nps_score ' || coalesce(delivered_nps_score::text, '') || ', csat_score '
            || coalesce(delivered_csat_score::text, '') || ': outside 0-10 and 1-5'",
    }) }} as rejection_detail,
    record_id,
    load_id
from flagged
