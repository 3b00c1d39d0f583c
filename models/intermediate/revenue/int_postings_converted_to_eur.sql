{#-
    Fee and interest postings with the account's current client and product and the amount in EUR (daily rate of
    the posting day, carried forward).
-#}
with

postings as (
    select * from {{ ref('int_postings_deduplicated') }}
),

accounts as (
    select * from {{ ref('int_accounts_versioned') }}
    where is_current and source_system = {{ source_system('core_banking') }}
),

fx as (
    select * from {{ ref('int_fx_rates_filled_forward') }}
)

select
    postings.source_system,
    postings.posting_id,
    postings.account_id,
    accounts.client_id,
    accounts.product_code,
    postings.posting_date,
    postings.posting_type,
    postings.amount,
    postings.currency,
    fx.rate_per_eur as fx_rate_per_eur,
    round(postings.amount / fx.rate_per_eur, 2)::numeric(18, 2) as amount_eur,
    postings.description,
    postings.source_file_name,
    postings.source_line_number
from postings
left join accounts on postings.account_id = accounts.account_id
left join fx on postings.currency = fx.currency and postings.posting_date = fx.rate_day
