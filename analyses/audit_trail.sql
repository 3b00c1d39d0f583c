-- The audit trail of a mart row: from one fact_transactions row to the landing file and line it came from, the dlt
-- load that wrote it, and the night that published it (Prefect flow run, dbt invocation, Delta version of
-- fact_transactions that night). Rows of fact_fraud reach it through their transaction_key.
-- Compile with the row's key and the published schema, then run the SQL in target/compiled/:
--   BANKWH_MARTS_SCHEMA=marts dbt compile --select audit_trail --vars '{transaction_key: <key>}'
-- monitoring.load_lineage (monitoring/audit.py) ties each dlt load to the first night published at or after it.
with

fact as (
    select
        transaction_key,
        source_system,
        source_file_name,
        source_line_number
    from {{ ref('fact_transactions') }}
    where transaction_key = '{{ var("transaction_key", "") }}'
),

raw_rows as (
    select
        'core_banking'::text as source_system,
        _file_name::text as file_name,
        _line_number::bigint as line_number,
        _dlt_load_id::text as load_id
    from {{ source('core_banking', 'transactions') }}
    union all
    select
        'berka'::text as source_system,
        _file_name::text as file_name,
        _line_number::bigint as line_number,
        _dlt_load_id::text as load_id
    from {{ source('raw_berka', 'trans') }}
),

lineage as (
    select * from {{ source('monitoring', 'load_lineage') }}
),

exports as (
    select * from {{ source('monitoring', 'delta_exports') }}
    where mart = 'fact_transactions'
)

select
    fact.transaction_key,
    fact.source_system,
    fact.source_file_name as file_name,
    fact.source_line_number as line_number,
    raw_rows.load_id as dlt_load_id,
    lineage.raw_schema,
    lineage.loaded_at,
    lineage.flow_run_id,
    lineage.dbt_invocation_id,
    lineage.published_at,
    lineage.listed_in_record,
    coalesce(exports.version, (lineage.delta_versions ->> 'fact_transactions')::bigint) as delta_version
from fact
left join raw_rows
    on fact.source_system = raw_rows.source_system
    and fact.source_file_name = raw_rows.file_name
    and fact.source_line_number = raw_rows.line_number
left join lineage on raw_rows.load_id = lineage.load_id
left join exports on lineage.flow_run_id = exports.run_id
