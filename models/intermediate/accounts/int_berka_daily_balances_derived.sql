/*
    End-of-day balances of Berka accounts in the core-banking `balances` shape, with the check of the invariant
    closing(day) = closing(previous day with movements) + movements(day).

    The file gives a balance after every movement but not the order of movements within a day (trans_id does
    not follow it). The closing movement of a day is the one whose balance is not the opening balance
    (balance - signed amount) of another movement of that day, i.e. the end of the day's chain; ties take the
    highest trans_id. The first day of an account starts from 0 (every account opens within the extract).
    Known exceptions, kept and classified rather than hidden: interest credited (UROK) is often shown 0.10 CZK
    off the balance change ('rounding_0_10'), and a few days have no single chain ('inconsistent').
*/
with

movements as (
    select
        account_id,
        trans_id,
        booked_on,
        signed_amount,
        balance,
        balance - signed_amount as opening_balance
    from {{ ref('stg_berka__transaction') }}
    where is_valid
),

continued as (
    -- movements that another movement of the same day starts from (equality join: a hash join, not a loop)
    select distinct earlier.trans_id
    from movements as earlier
    inner join movements as later
        on earlier.account_id = later.account_id
        and earlier.booked_on = later.booked_on
        and earlier.balance = later.opening_balance
        and earlier.trans_id <> later.trans_id
),

chain_ends as (
    select
        movements.*,
        continued.trans_id is null as is_chain_end
    from movements
    left join continued on movements.trans_id = continued.trans_id
),

days as (
    select
        account_id,
        booked_on as balance_date,
        count(*) as movement_count,
        sum(signed_amount) as day_movements,
        (array_agg(balance order by is_chain_end desc, trans_id desc))[1] as closing_balance,
        count(*) filter (where is_chain_end) as chain_end_count
    from chain_ends
    group by account_id, booked_on
),

checked as (
    select
        days.*,
        coalesce(lag(days.closing_balance) over (partition by days.account_id order by days.balance_date), 0)
            as previous_closing_balance
    from days
)

select
    'berka-' || account_id as account_id,
    account_id as source_account_id,
    balance_date,
    closing_balance,
    'CZK'::text as currency,
    movement_count,
    day_movements,
    previous_closing_balance,
    closing_balance - (previous_closing_balance + day_movements) as balance_difference,
    chain_end_count,
    case
        when closing_balance = previous_closing_balance + day_movements then 'consistent'
        when abs(closing_balance - (previous_closing_balance + day_movements)) = 0.10 then 'rounding_0_10'
        else 'inconsistent'
    end as balance_check,
    {{ source_system('berka') }} as source_system
from checked
