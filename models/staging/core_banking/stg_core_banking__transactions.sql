{#-
    One row per delivered transaction record, parsed and flagged with what the row alone can tell. Reason codes
    are the contract's defect names (missing_mandatory, invalid_iban, unknown_currency, future_date) and the value
    checks (macros/value_checks.sql), in the house order (macros/rejection_reasons.sql): an amount that does not
    fit numeric(18, 2) (amount_overflow), has more decimals than its currency's minor units (excess_decimals) or
    is nothing once rounded to them (zero_after_rounding), an impossible date (invalid_date) or file name
    (invalid_delivery_date), an over-long text (text_too_long), an amount beyond its product's plausibility bound
    (implausible_amount, or only is_implausible_amount when var implausible_amount_action is 'flag'), and a
    transaction_id delivered again with other content (conflicting_duplicate: every version rejected, none wins
    by order of delivery). Nothing is rounded or truncated: a value is taken exactly or its row is rejected, with
    rejection_detail naming the column and the value. The unknown_account check needs the accounts and is made in
    int_transactions_validated. Repairable defects (decimal comma, other date formats, late arrival, extra column,
    Latin-1) are parsed here and stay valid.

    A table, not a view like the other staging models: parsing a year of transactions (regexes, the IBAN mod-97
    check) is the most expensive step of the build, and a view would repeat it for every model and test that reads
    it (at scale 1 that was four parses of a million rows per build). Each value is parsed once per row: the CTEs
    that parse are MATERIALIZED, because PostgreSQL otherwise inlines them and repeats an expression wherever a
    later CTE names its column (the date parse ran several times per row, the IBAN check twice), and every later
    check reads the parsed columns. The currency's minor units and the account's product come from joins, and the
    conflict check hashes only the keys delivered more than once.
-#}
{{ config(materialized='table') }}

{%- set problems = ['amount_problem', 'booked_at_problem', 'value_date_problem', 'file_name_problem',
    'text_length_problem'] -%}
{%- set reject_implausible = implausible_amount_action() == 'reject' -%}

with

source as (
    select * from {{ source('core_banking', 'transactions') }}
),

{#- The product of each account as last delivered, for the plausibility bound of its amounts. #}

account_products as (
    select distinct on (account_id)
        account_id,
        product_code
    from (
        select
            {{ clean_text('accounts.account_id') }} as account_id,
            {{ clean_text('accounts.product_code') }} as product_code,
            accounts._file_name,
            accounts._line_number
        from {{ source('core_banking', 'accounts') }} as accounts
    ) as delivered
    where account_id is not null
    order by account_id asc, _file_name desc, _line_number desc
),

{#- Each delivered text trimmed once (NULL when empty); every parse below reads these columns. #}

delivered as materialized (
    select
        {{ clean_text('transaction_id') }} as transaction_id,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('booked_at') }} as booked_at_text,
        {{ clean_text('value_date') }} as value_date_text,
        {{ clean_text('amount') }} as amount_text,
        {{ clean_iso_code('currency') }} as currency,
        {{ clean_code('channel') }} as channel,
        {{ clean_text('mcc') }} as mcc,
        {{ clean_text('merchant') }} as merchant,
        upper(replace({{ clean_text('counterparty_iban') }}, ' ', '')) as counterparty_iban,
        {{ clean_text('description') }} as description,
        _file_name as source_file_name,
        _line_number::bigint as source_line_number,
        _loaded_at::timestamptz as loaded_at
    from source
),

{#- Every distinct day text of the booking timestamps (their first 10 characters: each date format of the
    contract is 10 long) and of the value dates, parsed once; a year of transactions has a few hundred. #}

days as (
    select
        day_text,
        {{ parse_date('day_text') }} as parsed_day
    from (
        select left(booked_at_text, 10) as day_text from delivered
        union
        select value_date_text from delivered
    ) as texts
    where day_text is not null
),

{#- The delivery date of each landing file, read once per file. #}

files as (
    select
        source_file_name,
        {{ delivery_date_from_file('source_file_name') }} as delivery_date
    from (select distinct source_file_name from delivered) as file_names
),

parsed as materialized (
    select
        delivered.*,
        {#- parse_timestamp's rule: a bare date is midnight, else `<date>T<clock>` or `<date> <clock>` #}
        case
            when length(delivered.booked_at_text) = 10 then booked_days.parsed_day::timestamp
            when substr(delivered.booked_at_text, 11, 1) in ('T', ' ')
                and substr(delivered.booked_at_text, 12) ~ '^([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?$'
                then booked_days.parsed_day + substr(delivered.booked_at_text, 12)::time
        end as booked_at,
        value_days.parsed_day as value_date,
        {{ amount_problem('delivered.amount_text', minor_units='iso.minor_units', name='amount') }} as amount_problem,
        iso.currency_code is null as is_unknown_currency,
        delivered.counterparty_iban is not null and not {{ is_valid_iban('delivered.counterparty_iban') }}
            as is_invalid_iban,
        files.delivery_date,
        account_products.product_code
    from delivered
    inner join files on delivered.source_file_name = files.source_file_name
    left join days as booked_days on left(delivered.booked_at_text, 10) = booked_days.day_text
    left join days as value_days on delivered.value_date_text = value_days.day_text
    left join {{ ref('iso_currencies') }} as iso on delivered.currency = iso.currency_code
    left join account_products on delivered.account_id = account_products.account_id
),

checked as (
    select
        *,
        {{ rejection_reason(
            problems=problems,
            missing_mandatory="transaction_id is null or account_id is null or currency is null
                or booked_at is null or amount is null",
            invalid_iban="is_invalid_iban",
            unknown_currency="is_unknown_currency",
            implausible_amount="is_implausible_amount" if reject_implausible else "false",
            future_date="booked_at::date > delivery_date"
        ) }} as pre_rejection_reason
    from (
        select
            *,
            coalesce({{ is_implausible_amount('amount', 'product_code') }}, false) as is_implausible_amount
        from (
            select
                parsed.*,
                {#- amount_problem is NULL only for a value that numeric(18, 2) holds exactly #}
                (
                    case when parsed.amount_problem is null then replace(parsed.amount_text, ',', '.')::numeric end
                )::numeric(18, 2)
                    as amount,
                case when parsed.booked_at_text is not null and parsed.booked_at is null
                        then 'invalid_date: booked_at ' || quote_literal(left(parsed.booked_at_text, 80))
                end
                    as booked_at_problem,
                case when parsed.value_date_text is not null and parsed.value_date is null
                        then 'invalid_date: value_date ' || quote_literal(left(parsed.value_date_text, 80))
                end
                    as value_date_problem,
                case when parsed.delivery_date is null
                        then 'invalid_delivery_date: file name ' || quote_literal(parsed.source_file_name)
                            || ' names no calendar day'
                end as file_name_problem,
                {{ text_problem('transactions') }} as text_length_problem
            from parsed
        ) as amounts
    ) as bounded
),

{#- Keys delivered more than once among the rows that pass every other check, and of those the keys whose copies
    differ: only these rows are hashed. #}

repeated_keys as (
    select transaction_id
    from checked
    where pre_rejection_reason is null
    group by transaction_id
    having count(*) > 1
),

conflicting_keys as (
    select checked.transaction_id
    from checked
    inner join repeated_keys on checked.transaction_id = repeated_keys.transaction_id
    where checked.pre_rejection_reason is null
    group by checked.transaction_id
    having count(distinct md5(row(
            checked.account_id,
            checked.booked_at,
            checked.value_date,
            checked.amount,
            checked.currency,
            checked.channel,
            checked.mcc, checked.merchant, checked.counterparty_iban, checked.description
        )::text)) > 1
),

flagged as (
    select
        checked.*,
        coalesce(
            checked.pre_rejection_reason,
            case when conflicting_keys.transaction_id is not null then 'conflicting_duplicate' end
        ) as rejection_reason
    from checked
    left join conflicting_keys
        on checked.transaction_id = conflicting_keys.transaction_id and checked.pre_rejection_reason is null
)

select
    transaction_id,
    account_id,
    booked_at,
    booked_at::date as booked_date,
    value_date,
    amount,
    currency,
    channel,
    mcc,
    merchant,
    counterparty_iban,
    description,
    rejection_reason,
    rejection_reason is null as is_valid,
    {{ rejection_detail('rejection_reason', problems, notes={
        'missing_mandatory': "'a mandatory value is empty: ' || concat_ws(', ',
            case when transaction_id is null then 'transaction_id' end,
            case when account_id is null then 'account_id' end, case when booked_at is null then 'booked_at' end,
            case when amount is null then 'amount' end, case when currency is null then 'currency' end)",
        'invalid_iban': "'counterparty_iban ' || quote_literal(counterparty_iban) || ' fails the ISO 13616 check'",
        'unknown_currency': "'currency ' || quote_literal(currency) || ' is not in ISO 4217'",
        'implausible_amount': "'amount ' || amount || ' is beyond the plausibility bound ' || "
            ~ plausibility_bound('product_code') ~ " || ' of product ' || coalesce(product_code, '(unknown)')",
        'future_date': "'booked_at ' || booked_at || ' is after the delivery date ' || delivery_date",
        'conflicting_duplicate': "'transaction_id ' || quote_literal(transaction_id)
            || ' is delivered more than once with different content'",
    }) }} as rejection_detail,
    is_implausible_amount,
    booked_at::date < delivery_date as is_late_arrival,
    source_file_name,
    source_line_number,
    delivery_date,
    loaded_at
from flagged
