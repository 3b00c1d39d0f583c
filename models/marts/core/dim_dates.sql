{#-
    Generated calendar from var calendar_start to calendar_end, with the bank holidays that matter for
    settlement: TARGET2 closing days (1 Jan, Good Friday, Easter Monday, 1 May, 25-26 Dec) and the public
    holidays of Germany, France and Czechia (national ones; regional holidays are out of scope).
    Easter Sunday is computed per year with the anonymous Gregorian algorithm.
-#}
with

days as (
    select calendar_day::date as date_day
    from generate_series(
            '{{ var("calendar_start") }}'::timestamp, '{{ var("calendar_end") }}'::timestamp, interval '1 day'
        ) as spine (calendar_day)
),

years as (
    select distinct extract(year from date_day)::integer as year_number from days
),

easter_steps as (
    select
        year_number,
        year_number % 19 as a,
        year_number / 100 as b,
        year_number % 100 as c
    from years
),

easter_steps_2 as (
    select
        year_number,
        a,
        c,
        (19 * a + b - b / 4 - (b - (b + 8) / 25 + 1) / 3 + 15) % 30 as h,
        b % 4 as e
    from easter_steps
),

easter_steps_3 as (
    select
        year_number,
        a,
        h,
        (32 + 2 * e + 2 * (c / 4) - h - c % 4) % 7 as l
    from easter_steps_2
),

easter as (
    select
        year_number,
        make_date(
            year_number,
            (h + l - 7 * ((a + 11 * h + 22 * l) / 451) + 114) / 31,
            (h + l - 7 * ((a + 11 * h + 22 * l) / 451) + 114) % 31 + 1
        ) as easter_sunday
    from easter_steps_3
),

calendar as (
    select
        days.date_day,
        easter.easter_sunday,
        to_char(days.date_day, 'MM-DD') as month_day
    from days
    inner join easter on extract(year from days.date_day)::integer = easter.year_number
),

flagged as (
    select
        date_day,
        month_day in ('01-01', '05-01', '12-25', '12-26')
        or date_day in (easter_sunday - 2, easter_sunday + 1) as is_target2_holiday,
        month_day in ('01-01', '05-01', '10-03', '12-25', '12-26')
        or date_day in (easter_sunday - 2, easter_sunday + 1, easter_sunday + 39, easter_sunday + 50)
            as is_holiday_de,
        month_day in ('01-01', '05-01', '05-08', '07-14', '08-15', '11-01', '11-11', '12-25')
        or date_day in (easter_sunday + 1, easter_sunday + 39, easter_sunday + 50) as is_holiday_fr,
        month_day in (
            '01-01', '05-01', '05-08', '07-05', '07-06', '09-28', '10-28', '11-17', '12-24', '12-25', '12-26'
        )
        or date_day in (easter_sunday - 2, easter_sunday + 1) as is_holiday_cz
    from calendar
)

select
    {{ date_key('date_day') }}::integer as date_key,
    date_day::date as date_day,
    extract(year from date_day)::integer as year_number,
    extract(quarter from date_day)::integer as quarter_number,
    (extract(year from date_day)::text || '-Q' || extract(quarter from date_day)::text)::text as year_quarter,
    extract(month from date_day)::integer as month_number,
    to_char(date_day, 'YYYY-MM')::text as year_month,
    trim(to_char(date_day, 'Month'))::text as month_name,
    date_trunc('month', date_day)::date as month_start_date,
    extract(day from date_day)::integer as day_of_month,
    extract(isodow from date_day)::integer as iso_day_of_week,
    trim(to_char(date_day, 'Day'))::text as day_name,
    extract(week from date_day)::integer as iso_week_number,
    (extract(isodow from date_day) in (6, 7))::boolean as is_weekend,
    (date_day = (date_trunc('month', date_day) + interval '1 month - 1 day')::date)::boolean as is_month_end,
    (date_day = (date_trunc('quarter', date_day) + interval '3 months - 1 day')::date)::boolean as is_quarter_end,
    (to_char(date_day, 'MM-DD') = '12-31')::boolean as is_year_end,
    is_target2_holiday::boolean as is_target2_holiday,
    (extract(isodow from date_day) not in (6, 7) and not is_target2_holiday)::boolean as is_target2_business_day,
    is_holiday_de::boolean as is_holiday_de,
    is_holiday_fr::boolean as is_holiday_fr,
    is_holiday_cz::boolean as is_holiday_cz
from flagged

union all

select
    -1 as date_key,
    '1900-01-01'::date as date_day,
    null::integer as year_number,
    null::integer as quarter_number,
    'unknown'::text as year_quarter,
    null::integer as month_number,
    'unknown'::text as year_month,
    'unknown'::text as month_name,
    null::date as month_start_date,
    null::integer as day_of_month,
    null::integer as iso_day_of_week,
    'unknown'::text as day_name,
    null::integer as iso_week_number,
    false as is_weekend,
    false as is_month_end,
    false as is_quarter_end,
    false as is_year_end,
    false as is_target2_holiday,
    false as is_target2_business_day,
    false as is_holiday_de,
    false as is_holiday_fr,
    false as is_holiday_cz
