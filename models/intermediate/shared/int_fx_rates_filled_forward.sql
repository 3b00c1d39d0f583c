{#-
    One rate per currency and calendar day, for every source system: amounts convert to EUR with one join on
    (currency, day). fx_rate_basis says where a rate comes from:
    - 'daily_published': the bank API's rates. Rule for days without a published rate (weekends, holidays, late
      publication): the last rate published on or before that day. A re-published rate for the same day replaces
      the earlier one (latest published_at wins). EUR is the base currency: rate 1 every day.
    - 'fixed_historical': the fixed rates of int_berka_fx_rates_fixed (the Czech bank's CZK before the euro), one
      row per day of their validity, on the days the API publishes nothing for that currency.
-#}
with

published as (
    select
        rate_date,
        currency,
        rate_per_eur,
        row_number() over (partition by rate_date, currency order by published_at desc nulls last) as publication_rank
    from {{ ref('stg_bank_api__fx_rates') }}
    where is_valid and currency != 'EUR'
),

latest_publication as (
    select
        rate_date,
        currency,
        rate_per_eur
    from published
    where publication_rank = 1
),

currency_ranges as (
    select
        currency,
        min(rate_date) as first_rate_date
    from latest_publication
    group by currency
),

calendar as (
    select
        currency_ranges.currency,
        calendar_days.calendar_day::date as rate_day
    from currency_ranges
    cross join lateral generate_series(
        currency_ranges.first_rate_date::timestamp,
        '{{ var("calendar_end", "2030-12-31") }}'::timestamp,
        interval '1 day'
    ) as calendar_days (calendar_day)
),

grid as (
    select
        calendar.currency,
        calendar.rate_day,
        latest_publication.rate_per_eur,
        latest_publication.rate_date,
        count(latest_publication.rate_date) over (
            partition by calendar.currency order by calendar.rate_day
        ) as rate_group
    from calendar
    left join latest_publication
        on calendar.currency = latest_publication.currency
        and calendar.rate_day = latest_publication.rate_date
),

filled as (
    select
        currency,
        rate_day,
        first_value(rate_per_eur) over (partition by currency, rate_group order by rate_day) as rate_per_eur,
        first_value(rate_date) over (partition by currency, rate_group order by rate_day) as published_rate_date
    from grid
),

daily_published as (
    select
        currency,
        rate_day,
        rate_per_eur::numeric(18, 6) as rate_per_eur,
        published_rate_date,
        rate_day != published_rate_date as is_carried_forward
    from filled

    union all

    select
        'EUR' as currency,
        calendar_days.calendar_day::date as rate_day,
        1::numeric(18, 6) as rate_per_eur,
        calendar_days.calendar_day::date as published_rate_date,
        false as is_carried_forward
    from generate_series(
            '{{ var("calendar_start", "1990-01-01") }}'::timestamp,
            '{{ var("calendar_end", "2030-12-31") }}'::timestamp,
            interval '1 day'
        ) as calendar_days (calendar_day)
),

fixed_historical as (
    select
        fixed.currency,
        fixed_days.fixed_day::date as rate_day,
        fixed.rate_per_eur
    from {{ ref('int_berka_fx_rates_fixed') }} as fixed
    cross join lateral generate_series(
        fixed.valid_from::timestamp, fixed.valid_to::timestamp - interval '1 day', interval '1 day'
    ) as fixed_days (fixed_day)
)

select
    currency,
    rate_day,
    rate_per_eur,
    published_rate_date,
    is_carried_forward,
    'daily_published'::text as fx_rate_basis
from daily_published

union all

select
    fixed_historical.currency,
    fixed_historical.rate_day,
    fixed_historical.rate_per_eur,
    null::date as published_rate_date,
    false as is_carried_forward,
    'fixed_historical'::text as fx_rate_basis
from fixed_historical
where
    not exists (
        select 1 from daily_published
        where
            daily_published.currency = fixed_historical.currency
            and daily_published.rate_day = fixed_historical.rate_day
    )
