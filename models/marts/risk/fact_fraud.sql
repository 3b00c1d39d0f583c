{#- One row per closed fraud investigation (label), joined to the transaction it concerns. -#}
with

labels as (
    select * from {{ ref('int_fraud_labels_deduplicated') }}
),

transactions as (
    select * from {{ ref('fact_transactions') }}
)

select
    {{ surrogate_key(['labels.source_system', 'labels.transaction_id']) }}::text as fraud_label_key,
    labels.source_system::text as source_system,
    labels.transaction_id::text as transaction_id,
    transactions.transaction_key::text as transaction_key,
    coalesce(transactions.account_key, {{ unknown_key() }})::text as account_key,
    coalesce(transactions.client_key, {{ unknown_key() }})::text as client_key,
    {{ date_key('transactions.booked_date') }}::integer as date_key,
    {{ date_key('labels.reported_on') }}::integer as reported_date_key,
    labels.label::text as label,
    labels.is_fraud::boolean as is_fraud,
    labels.fraud_type::text as fraud_type,
    labels.reported_on::date as reported_on,
    (labels.reported_on - transactions.booked_date)::integer as days_to_report,
    transactions.channel::text as channel,
    transactions.amount_eur::numeric(18, 2) as amount_eur,
    (transactions.transaction_key is not null)::boolean as has_known_transaction
from labels
left join transactions
    on labels.source_system = transactions.source_system
    and labels.transaction_id = transactions.transaction_id
