with

loads as (
    -- the load that counts for each file: the latest recorded in _file_loads (re-runs never double a row)
    select
        file_name,
        load_id
    from (
        select
            file_name,
            load_id,
            row_number() over (partition by file_name order by loaded_at desc, load_id desc) as load_rank
        from {{ berka_source('_file_loads') }}
    ) as ranked
    where load_rank = 1
),

raw as (
    select delivered.*
    from {{ berka_source('loan') }} as delivered
    inner join loads
        on delivered._file_name = loads.file_name and delivered._dlt_load_id = loads.load_id
),

codes as (
    select
        code_set,
        code,
        english_name,
        warehouse_value,
        channel
    from {{ ref('berka_codes') }}
)

select
    raw.loan_id::integer as loan_id,
    raw.account_id::integer as account_id,
    make_date(1900 + substr(raw.date, 1, 2)::integer, substr(raw.date, 3, 2)::integer, substr(raw.date, 5, 2)::integer)
        as granted_on,
    raw.amount::numeric(14, 2) as amount,
    raw.duration::integer as duration_months,
    raw.payments::numeric(14, 2) as monthly_payment,
    raw.status as status_code,
    loan_status.english_name as status_description,
    case when raw.status in ('A', 'B') then 'finished' else 'running' end as contract_state,
    case when raw.status in ('A', 'C') then 'performing' else 'defaulted' end as repayment_state,
    loan_status.warehouse_value as loan_status,
    'CZK'::text as currency,
    raw._file_name as source_file,
    raw._line_number as source_line
from raw
left join codes as loan_status
    on loan_status.code_set = 'loan_status' and raw.status = loan_status.code
