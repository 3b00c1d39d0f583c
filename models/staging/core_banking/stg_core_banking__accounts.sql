{#- Value checks and reasons: macros/value_checks.sql; one version (account_id, updated_at) delivered twice with
    other content is a conflicting_duplicate (both rows rejected). Limits beyond their product's plausibility
    bound are implausible_amount (var implausible_amount_action 'flag' keeps them valid). -#}
{%- set problems = ['credit_limit_problem', 'overdraft_limit_problem', 'opened_on_problem', 'closed_on_problem',
    'updated_at_problem', 'file_name_problem', 'text_length_problem'] -%}
{%- set implausible = "(" ~ is_implausible_amount('credit_limit', 'product_code') ~ " or "
    ~ is_implausible_amount('overdraft_limit', 'product_code') ~ ")" -%}

with

source as (
    select
        delivered.*,
        iso.minor_units as currency_minor_units
    from {{ source('core_banking', 'accounts') }} as delivered
    left join {{ ref('iso_currencies') }} as iso on {{ clean_iso_code('delivered.currency') }} = iso.currency_code
),

parsed as (
    select
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('client_id') }} as client_id,
        upper(replace({{ clean_text('iban') }}, ' ', '')) as iban,
        {{ clean_text('product_code') }} as product_code,
        {{ clean_iso_code('currency') }} as currency,
        {{ parse_date('opened_on') }} as opened_on,
        {{ parse_date('closed_on') }} as closed_on,
        {{ clean_code('status') }} as status,
        {{ parse_amount('credit_limit') }} as credit_limit,
        {{ parse_amount('overdraft_limit') }} as overdraft_limit,
        {{ parse_timestamp('updated_at') }} as updated_at,
        {{ amount_problem('credit_limit', minor_units='currency_minor_units') }}
            as credit_limit_problem,
        {{ amount_problem('overdraft_limit', minor_units='currency_minor_units') }}
            as overdraft_limit_problem,
        {{ date_problem('opened_on') }} as opened_on_problem,
        {{ date_problem('closed_on') }} as closed_on_problem,
        {{ timestamp_problem('updated_at') }} as updated_at_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('accounts') }} as text_length_problem,
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
            missing_mandatory="account_id is null or client_id is null or currency is null or updated_at is null",
            invalid_iban="iban is not null and not " ~ is_valid_iban('iban'),
            unknown_currency=is_unknown_currency('currency'),
            implausible_amount=implausible if implausible_amount_action() == 'reject' else 'false'
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem(['account_id', 'updated_at'], ['client_id', 'iban', 'product_code', 'currency',
                'opened_on', 'closed_on', 'status', 'credit_limit', 'overdraft_limit']) }}
        ) as rejection_reason
    from checked
)

select
    account_id,
    client_id,
    iban,
    product_code,
    currency,
    opened_on,
    closed_on,
    status,
    credit_limit,
    overdraft_limit,
    updated_at,
    rejection_reason,
    rejection_reason is null as is_valid,
    {{ rejection_detail('rejection_reason', problems, notes={
        'invalid_iban': "'iban ' || quote_literal(iban) || ' fails the ISO 13616 check'",
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'implausible_amount': "'credit_limit ' || coalesce(credit_limit::text, '') || ', overdraft_limit '
            || coalesce(overdraft_limit::text, '') || ': beyond the plausibility bound ' || "
            ~ plausibility_bound('product_code') ~ " || ' of product ' || coalesce(product_code, '(unknown)')",
        'conflicting_duplicate': "'account ' || quote_literal(account_id) || ' as of ' || updated_at
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    coalesce({{ implausible }}, false) as is_implausible_amount,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
