{#-
    Loans granted on accounts (at most one per account).
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'loan') }}
),

codes as (
    select
        code_set,
        code,
        english_name,
        warehouse_value,
        channel
    from {{ ref('berka_codes') }}
),

parsed as (
    select
        {{ parse_integer('raw.loan_id') }} as loan_id,
        {{ parse_integer('raw.account_id') }} as account_id,
        {{ parse_yymmdd('raw.date') }} as granted_on,
        {{ parse_amount('raw.amount') }} as amount,
        {{ parse_integer('raw.duration') }} as duration_months,
        {{ parse_amount('raw.payments') }} as monthly_payment,
        raw.status as status_code,
        loan_status.english_name as status_description,
        loan_status.warehouse_value as loan_status,
        {{ is_unreadable('raw.loan_id', parse_integer('raw.loan_id')) }}
        or {{ is_unreadable('raw.account_id', parse_integer('raw.account_id')) }}
        or {{ is_unreadable('raw.duration', parse_integer('raw.duration')) }} as has_unreadable_integer,
        {{ is_unreadable('raw.date', parse_yymmdd('raw.date')) }} as has_unreadable_date,
        {{ is_unreadable('raw.amount', parse_amount('raw.amount')) }}
        or {{ is_unreadable('raw.payments', parse_amount('raw.payments')) }} as has_unreadable_amount,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
    left join codes as loan_status
        on loan_status.code_set = 'loan_status' and raw.status = loan_status.code
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_integer",
            invalid_date="has_unreadable_date",
            invalid_amount="has_unreadable_amount",
            missing_mandatory="loan_id is null or account_id is null or granted_on is null or amount is null"
        ) }} as rejection_reason
    from parsed
)

select
    loan_id,
    account_id,
    granted_on,
    amount,
    duration_months,
    monthly_payment,
    status_code,
    status_description,
    case when status_code in ('A', 'B') then 'finished' else 'running' end as contract_state,
    case when status_code in ('A', 'C') then 'performing' else 'defaulted' end as repayment_state,
    loan_status,
    'CZK'::text as currency,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
