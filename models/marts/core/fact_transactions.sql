{#-
    One row per booked transaction (deduplicated, valid). Incremental: each run re-reads the last
    late_arrival_lookback_days days of booking dates (counted back from the newest booking already loaded) and
    replaces those rows (delete+insert on transaction_key), so a transaction delivered up to that many days late
    lands in its own booking day and an incremental run equals a full refresh. Fraud labels, which arrive up to
    30 days later, live in fact_fraud for that reason. Dimension keys are point-in-time: the account and client
    version valid when the transaction was booked.
    Every source system lands here through int_transactions_unioned. The lookback counts back from the newest
    booking of the row's own source system, so a bank whose history is decades older is neither skipped nor re-read
    whole.
    Personal data (macros/privacy.sql): the other party's IBAN or account only as keyed pseudonyms, so transfers to
    one counterparty still group; the free-text description is not published.
-#}
{{
    config(
        materialized='incremental',
        unique_key='transaction_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

with

sources as (
    select * from {{ ref('int_transactions_unioned') }}
),

{% if is_incremental() %}
    already_loaded as (
        -- newest booking already loaded, per source system: each bank has its own calendar (1993 vs today)
        select source_system, max(booked_date) as newest_booked_date
        from {{ this }}
        group by source_system
    ),
{% endif %}

transactions as (
    select sources.*
    from sources
    {% if is_incremental() %}
        left join already_loaded on sources.source_system = already_loaded.source_system
        where sources.booked_date >= coalesce(already_loaded.newest_booked_date, '1900-01-01'::date)
            - {{ var('late_arrival_lookback_days') }}
    {% endif %}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

products as (
    select * from {{ ref('dim_products') }}
)

select
    {{ surrogate_key(['transactions.source_system', 'transactions.transaction_id']) }}::text as transaction_key,
    transactions.source_system::text as source_system,
    transactions.transaction_id::text as transaction_id,
    transactions.account_id::text as account_id,
    coalesce(accounts.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(clients.client_key, {{ unknown_key() }})::text as client_key,
    coalesce(products.product_key, {{ unknown_key() }})::text as product_key,
    {{ date_key('transactions.booked_date') }}::integer as date_key,
    transactions.booked_at::timestamp as booked_at,
    transactions.booked_date::date as booked_date,
    transactions.value_date::date as value_date,
    transactions.delivery_date::date as delivery_date,
    transactions.amount::numeric(18, 2) as amount,
    transactions.currency::text as currency,
    transactions.fx_rate_per_eur::numeric(18, 6) as fx_rate_per_eur,
    transactions.amount_eur::numeric(18, 2) as amount_eur,
    transactions.fx_rate_basis::text as fx_rate_basis,
    (case when transactions.amount < 0 then 'debit' else 'credit' end)::text as direction,
    transactions.channel::text as channel,
    transactions.transaction_type::text as transaction_type,
    transactions.mcc::text as mcc,
    transactions.merchant_category::text as merchant_category,
    transactions.merchant::text as merchant,
    {{ pseudonym('transactions.counterparty_iban') }}::text as counterparty_iban_pseudonym,
    {{ pseudonym('transactions.counterparty_account') }}::text as counterparty_account_pseudonym,
    transactions.balance_after::numeric(18, 2) as balance_after,
    transactions.is_late_arrival::boolean as is_late_arrival,
    transactions.rows_delivered::integer as rows_delivered,
    transactions.source_file_name::text as source_file_name,
    transactions.source_line_number::bigint as source_line_number,
    transactions.loaded_at::timestamptz as loaded_at
from transactions
left join accounts
    on {{ point_in_time('accounts', 'account_id', 'transactions.account_id', 'transactions.booked_at',
        'transactions.source_system') }}
left join clients
    on {{ point_in_time('clients', 'client_id', 'coalesce(accounts.client_id, transactions.client_id)',
        'transactions.booked_at', 'transactions.source_system') }}
left join products
    on transactions.source_system = products.source_system
    and coalesce(accounts.product_code, transactions.product_code) = products.product_code
