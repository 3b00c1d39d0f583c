{#-
    Transactions delivered so far (trans.asc extract); type PRIJEM is a credit, VYDAJ and VYBER debits;
    transaction_type and channel come from the k_symbol when it has a meaning, else from the operation (seed
    berka_codes).
    Values are read with the safe parsers of macros/parsing.sql: a value no rule can read gives NULL and a
    rejection_reason (invalid_integer, invalid_date, invalid_amount, missing_mandatory), so one bad line is
    rejected with its file and line instead of failing the build. Downstream models read `where is_valid`.
-#}
with

raw as (
    -- the raw layer holds one load per file (the ingest's re-delivery rule), so every row counts
    select * from {{ source('raw_berka', 'trans') }}
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
        {{ parse_integer('raw.trans_id') }} as trans_id,
        {{ parse_integer('raw.account_id') }} as account_id,
        {{ parse_yymmdd('raw.date') }} as booked_on,
        raw.type as type_code,
        nullif(trim(raw.operation), '') as operation_code,
        nullif(trim(raw.k_symbol), '') as k_symbol_code,
        {{ parse_amount('raw.amount') }} as amount,
        {{ parse_amount('raw.balance') }} as balance,
        nullif(trim(raw.bank), '') as counterparty_bank,
        nullif(trim(raw.account), '') as counterparty_account,
        {{ is_unreadable('raw.trans_id', parse_integer('raw.trans_id')) }}
        or {{ is_unreadable('raw.account_id', parse_integer('raw.account_id')) }} as has_unreadable_integer,
        {{ is_unreadable('raw.date', parse_yymmdd('raw.date')) }} as has_unreadable_date,
        {{ is_unreadable('raw.amount', parse_amount('raw.amount')) }}
        or {{ is_unreadable('raw.balance', parse_amount('raw.balance')) }} as has_unreadable_amount,
        raw._file_name as source_file_name,
        raw._line_number as source_line_number
    from raw
),

translated as (
    -- "" and " " both mean "none" for the codes
    select
        parsed.*,
        direction.warehouse_value as direction,
        coalesce(k_symbol.warehouse_value, operation_codes.warehouse_value) as transaction_type,
        coalesce(k_symbol.channel, operation_codes.channel) as channel
    from parsed
    left join codes as direction
        on direction.code_set = 'transaction_direction' and parsed.type_code = direction.code
    left join codes as operation_codes
        on operation_codes.code_set = 'operation' and coalesce(parsed.operation_code, '(none)') = operation_codes.code
    left join codes as k_symbol
        on k_symbol.code_set = 'k_symbol' and coalesce(parsed.k_symbol_code, '(none)') = k_symbol.code
),

flagged as (
    select
        *,
        {{ rejection_reason(
            invalid_integer="has_unreadable_integer",
            invalid_date="has_unreadable_date",
            invalid_amount="has_unreadable_amount",
            missing_mandatory="trans_id is null or account_id is null or booked_on is null or type_code is null
                or amount is null or balance is null"
        ) }} as rejection_reason
    from translated
)

select
    trans_id,
    account_id,
    booked_on,
    type_code,
    operation_code,
    k_symbol_code,
    direction,
    transaction_type,
    channel,
    amount,
    case when direction = 'credit' then 1 else -1 end * amount as signed_amount,
    balance,
    counterparty_bank,
    counterparty_account,
    'CZK'::text as currency,
    rejection_reason,
    rejection_reason is null as is_valid,
    source_file_name,
    source_line_number
from flagged
