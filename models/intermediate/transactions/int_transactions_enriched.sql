{#-
    Deduplicated transactions with their account's current client and product, the amount in EUR (daily rate of the
    booking day, carried forward over days without a rate), the merchant category, and the fraud label if an
    investigation closed. Null defaults: no label = not investigated (is_fraud false, label 'unlabelled');
    missing rate = amount_eur null (flagged by a warn test), never a guessed rate.
-#}
with

transactions as (
    select * from {{ ref('int_transactions_deduplicated') }}
),

accounts as (
    select * from {{ ref('int_accounts_versioned') }}
    where is_current and source_system = {{ source_system('core_banking') }}
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
),

merchant_categories as (
    select * from {{ ref('merchant_category_codes') }}
),

labels as (
    select * from {{ ref('int_fraud_labels_deduplicated') }}
)

select
    transactions.source_system,
    transactions.transaction_id,
    transactions.account_id,
    accounts.client_id,
    accounts.product_code,
    transactions.booked_at,
    transactions.booked_date,
    transactions.value_date,
    transactions.amount,
    transactions.currency,
    fx.rate_per_eur as fx_rate_per_eur,
    round(transactions.amount / fx.rate_per_eur, 2)::numeric(18, 2) as amount_eur,
    fx.fx_rate_basis,
    transactions.channel,
    null::text as transaction_type,
    transactions.mcc,
    coalesce(merchant_categories.merchant_category, case when transactions.mcc is null then 'none' else 'other' end)
        as merchant_category,
    transactions.merchant,
    transactions.counterparty_iban,
    null::text as counterparty_account,
    transactions.description,
    null::numeric(18, 2) as balance_after,
    coalesce(labels.label, 'unlabelled') as fraud_label,
    coalesce(labels.is_fraud, false) as is_fraud,
    labels.fraud_type,
    labels.reported_on as fraud_reported_on,
    transactions.is_late_arrival,
    transactions.rows_delivered,
    transactions.source_file_name,
    transactions.source_line_number,
    transactions.delivery_date,
    transactions.loaded_at
from transactions
left join accounts on transactions.account_id = accounts.account_id
left join fx on transactions.currency = fx.currency and transactions.booked_date = fx.rate_day
left join merchant_categories on transactions.mcc = merchant_categories.mcc
left join labels on transactions.transaction_id = labels.transaction_id
