{#-
    Standing payment orders (order.asc); k_symbol "" or " " means no characterisation.
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'order') }}
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
        {{ parse_integer('raw.order_id') }} as order_id,
        {{ parse_integer('raw.account_id') }} as account_id,
        raw.bank_to as recipient_bank,
        raw.account_to as recipient_account,
        {{ parse_amount('raw.amount') }} as amount,
        nullif(trim(raw.k_symbol), '') as k_symbol_code,
        coalesce(purpose.warehouse_value, 'unspecified') as payment_purpose,
        {{ is_unreadable('raw.order_id', parse_integer('raw.order_id')) }}
        or {{ is_unreadable('raw.account_id', parse_integer('raw.account_id')) }} as has_unreadable_integer,
        {{ is_unreadable('raw.amount', parse_amount('raw.amount')) }} as has_unreadable_amount,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
    left join codes as purpose
        -- "" and " " both mean "no characterisation"
        on purpose.code_set = 'k_symbol' and coalesce(nullif(trim(raw.k_symbol), ''), '(none)') = purpose.code
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_integer",
            invalid_amount="has_unreadable_amount",
            missing_mandatory="order_id is null or account_id is null or amount is null"
        ) }} as rejection_reason
    from parsed
)

select
    order_id,
    account_id,
    recipient_bank,
    recipient_account,
    amount,
    k_symbol_code,
    payment_purpose,
    'CZK'::text as currency,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
