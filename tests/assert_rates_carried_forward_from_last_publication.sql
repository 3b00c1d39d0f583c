{#- The FX rule: a day without a published rate uses the last rate published on or before it, never a later one. -#}
{{ config(severity='error', group='bank_warehouse') }}

select
    filled.currency,
    filled.rate_day,
    filled.published_rate_date
from {{ ref('int_fx_rates_filled_forward') }} as filled
where filled.published_rate_date > filled.rate_day
    or exists (
        select 1
        from {{ ref('stg_bank_api__fx_rates') }} as published
        where published.is_valid
            and published.currency = filled.currency
            and published.rate_date > filled.published_rate_date
            and published.rate_date <= filled.rate_day
    )
