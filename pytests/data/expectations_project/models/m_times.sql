-- a view, so "now" is the moment the tests read it; wall clock of the dbt_date:time_zone variable
with now as (select current_timestamp at time zone 'Pacific/Kiritimati' as ts)
select ts - interval '1 day' as at, 'recent' as kind from now
union all select ts - interval '10 days', 'old' from now
union all select ts + interval '30 days', 'future' from now
union all select null::timestamp, 'none'
