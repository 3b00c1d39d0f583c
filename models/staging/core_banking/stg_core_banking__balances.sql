{#- Value checks and reasons: macros/value_checks.sql; a balance delivered twice for one account and day with
    another closing balance is a conflicting_duplicate (both rows rejected). -#}
{%- set problems = ['closing_balance_problem', 'balance_date_problem', 'file_name_problem', 'text_length_problem'] -%}

with

source as (
    select
        delivered.*,
        iso.minor_units as currency_minor_units
    from {{ source('core_banking', 'balances') }} as delivered
    left join {{ ref('iso_currencies') }} as iso on {{ clean_iso_code('delivered.currency') }} = iso.currency_code
),

parsed as (
    select
        {{ clean_text('account_id') }} as account_id,
        {{ parse_date('balance_date') }} as balance_date,
        {{ parse_amount('closing_balance') }} as closing_balance,
        {{ clean_iso_code('currency') }} as currency,
        {{ amount_problem('closing_balance', minor_units='currency_minor_units') }}
            as closing_balance_problem,
        {{ date_problem('balance_date') }} as balance_date_problem,
        {{ delivery_date_problem('_file_name') }} as file_name_problem,
        {{ text_problem('balances') }} as text_length_problem,
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
            missing_mandatory="account_id is null or balance_date is null or closing_balance is null",
            unknown_currency=is_unknown_currency('currency')
        ) }} as pre_rejection_reason
    from parsed
),

flagged as (
    select
        *,
        coalesce(
            pre_rejection_reason,
            {{ conflict_problem(['account_id', 'balance_date'], ['closing_balance', 'currency']) }}
        ) as rejection_reason
    from checked
)

select
    account_id,
    balance_date,
    closing_balance,
    currency,
    rejection_reason,
    rejection_reason is null as is_valid,
    {{ rejection_detail('rejection_reason', problems, notes={
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'conflicting_duplicate': "'the balance of ' || account_id || ' on ' || balance_date
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
