{#- Value checks and reasons: macros/value_checks.sql; one version (client_id, updated_at) delivered twice with
    other content is a conflicting_duplicate (both rows rejected). -#}
{%- set problems = ['risk_rating_problem', 'birth_date_problem', 'onboarded_on_problem', 'updated_at_problem',
    'file_name_problem', 'text_length_problem'] -%}

with

source as (
    select * from {{ source('core_banking', 'clients') }}
),

parsed as (
    select
        {{ clean_text('client_id') }} as client_id,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ parse_date('birth_date') }} as birth_date,
        {{ clean_text('national_id') }} as national_id,
        lower({{ clean_text('email') }}) as email,
        {{ clean_text('phone') }} as phone,
        {{ clean_text('street') }} as street,
        {{ clean_text('city') }} as city,
        {{ clean_text('postal_code') }} as postal_code,
        {{ clean_iso_code('country') }} as country,
        {{ clean_code('segment') }} as segment,
        {{ parse_integer('risk_rating') }} as risk_rating,
        {{ clean_code('kyc_status') }} as kyc_status,
        {{ parse_date('onboarded_on') }} as onboarded_on,
        {{ parse_timestamp('updated_at') }} as updated_at,
        {{ integer_problem('risk_rating') }} as risk_rating_problem,
        {{ date_problem('birth_date') }} as birth_date_problem,
        {{ date_problem('onboarded_on') }} as onboarded_on_problem,
        {{ timestamp_problem('updated_at') }} as updated_at_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('clients') }} as text_length_problem,
        _file_name as source_file_name,
        _line_number::bigint as source_line_number,
        {{ delivery_date_from_file('_file_name') }} as delivery_date,
        _loaded_at::timestamptz as loaded_at
    from source
),

checked as (
    select
        *,
        {{ rejection_reason(
            problems=problems,
            missing_mandatory="client_id is null or updated_at is null"
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem(['client_id', 'updated_at'], ['first_name', 'last_name', 'birth_date', 'national_id',
                'email', 'phone', 'street', 'city', 'postal_code', 'country', 'segment', 'risk_rating', 'kyc_status',
                'onboarded_on']) }}
        ) as rejection_reason
    from checked
)

select
    client_id,
    first_name,
    last_name,
    birth_date,
    national_id,
    email,
    phone,
    street,
    city,
    postal_code,
    country,
    segment,
    risk_rating,
    kyc_status,
    onboarded_on,
    updated_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    {{ rejection_detail('rejection_reason', problems, notes={
        'conflicting_duplicate': "'client ' || quote_literal(client_id) || ' as of ' || updated_at
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
