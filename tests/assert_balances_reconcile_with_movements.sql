{#-
    Balance invariant of the contract, per account and pair of consecutive balance days d1 < d2:
    closing(d1) + transactions and postings booked in (d1, d2] = closing(d2).
    It proves that dedup kept exactly one copy, that rejected rows stayed out of the ledger and that late
    arrivals landed on their booking day. Returns the breaking (account, day) pairs.
-#}
{{ config(severity='error', group='bank_warehouse') }}

with

balances as (
    select
        account_id,
        balance_date,
        closing_balance
    from (
        select
            *,
            row_number() over (
                partition by account_id, balance_date
                order by delivery_date desc, source_file_name desc, source_line_number desc
            ) as delivery_rank
        from {{ ref('stg_core_banking__balances') }}
        where is_valid
    ) as ranked
    where delivery_rank = 1
),

consecutive as (
    select
        account_id,
        balance_date,
        closing_balance,
        lag(balance_date) over (partition by account_id order by balance_date) as previous_date,
        lag(closing_balance) over (partition by account_id order by balance_date) as previous_closing
    from balances
),

movements as (
    select
        account_id,
        booked_date as movement_date,
        amount
    from {{ ref('int_transactions_deduplicated') }}
    union all
    select
        account_id,
        posting_date as movement_date,
        amount
    from {{ ref('int_postings_deduplicated') }}
),

checked as (
    select
        consecutive.account_id,
        consecutive.previous_date,
        consecutive.balance_date,
        consecutive.previous_closing,
        consecutive.closing_balance,
        coalesce(sum(movements.amount), 0) as movements
    from consecutive
    left join movements
        on consecutive.account_id = movements.account_id
        and consecutive.previous_date < movements.movement_date
        and consecutive.balance_date >= movements.movement_date
    where consecutive.previous_date is not null
    group by 1, 2, 3, 4, 5
)

select
    *,
    previous_closing + movements - closing_balance as difference
from checked
where previous_closing + movements != closing_balance
