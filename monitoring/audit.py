"""The audit trail: from a mart row back to the file and line it came from, and to the night that published it.

Every fact row keeps its landing file and line (`source_file_name`, `source_line_number`); the raw row at that file
and line names its dlt load (`_dlt_load_id`); and `monitoring.load_lineage`, a view kept here, ties each dlt load to
the night that first published it: the Prefect flow run (`run_id` of `monitoring.published_runs`), its dbt
invocation, and the Delta version of every mart that night (`monitoring.delta_exports`). `trace` is that chain for
one row of fact_transactions; `analyses/audit_trail.sql` is the same query for analysts, compiled by dbt.

Why "the first night published at or after the load": a load belongs to the night that ran it, but a night that
failed its gate published nothing, so its rows reached readers with the next night that passed. The view says
whether the load is listed in that night's own record (`listed_in_record`) or arrived with a blocked night before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import history

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

VIEW = "monitoring.load_lineage"
RECORD = "monitoring.published_runs"
EXPORTS = "monitoring.delta_exports"
#: Raw tables whose rows reach fact_transactions, by source system (file and line columns are the raw layer's own).
TRANSACTION_RAW = {"core_banking": "raw_core_banking.transactions", "berka": "raw_berka.trans"}


def _exists(cur, relation: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (relation,))
    return bool(cur.fetchone()[0])


def lineage_sql(raw_schemas: list[str]) -> str:
    """The view's query over the `_dlt_loads` of the given raw schemas."""
    loads = "\n        union all\n".join(
        f"        select '{schema}'::text as raw_schema, load_id::text as load_id, schema_name::text as dlt_schema, "
        f"status::bigint as load_status, inserted_at::timestamptz as loaded_at from {schema}._dlt_loads"
        for schema in raw_schemas
    )
    return f"""
create or replace view {VIEW} as
with loads as (
{loads}
)
select
    loads.raw_schema,
    loads.load_id,
    loads.dlt_schema,
    loads.load_status,
    loads.loaded_at,
    night.run_id as flow_run_id,
    night.dbt_invocation_id,
    night.published_at,
    night.schema_name as published_schema,
    night.delta_versions,
    coalesce(night.dlt_load_ids ? loads.load_id, false) as listed_in_record
from loads
left join lateral (
    select published.*
    from {RECORD} as published
    where published.published_at >= loads.loaded_at
    order by published.published_at, published.run_id
    limit 1
) as night on true
"""


def ensure_lineage_view(conn: Connection) -> bool:
    """(Re)create monitoring.load_lineage over every raw schema that has dlt loads; False (and nothing created)
    before the first publication or the first load. Recreated each night, so a new raw schema joins it."""
    with conn, conn.cursor() as cur:
        if not _exists(cur, RECORD):
            return False
        cur.execute(
            "select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relname = '_dlt_loads' and n.nspname like 'raw\\_%%' and c.relkind = 'r' order by 1"
        )
        schemas = [r[0] for r in cur.fetchall()]
        if not schemas:
            return False
        cur.execute(lineage_sql(schemas))
        cur.execute(
            f"comment on view {VIEW} is 'Each dlt load of the raw schemas and the night that first published it "
            "(flow run, dbt invocation, Delta versions): the audit trail (monitoring/audit.py).'"
        )
    return True


def trace_sql(schema: str, raw_tables: dict[str, str]) -> str:
    """The audit trail of one fact_transactions row (by transaction_key) of the marts in `schema`."""
    raw = "\n    union all\n".join(
        f"    select '{system}'::text as source_system, _file_name::text as file_name, "
        f"_line_number::bigint as line_number, _dlt_load_id::text as load_id from {table}"
        for system, table in raw_tables.items()
    )
    return f"""
with fact as (
    select transaction_key, source_system, source_file_name, source_line_number
    from {schema}.fact_transactions
    where transaction_key = %(key)s
),
raw_rows as (
{raw}
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
left join {VIEW} as lineage on raw_rows.load_id = lineage.load_id
left join {EXPORTS} as exports
    on lineage.flow_run_id = exports.run_id and exports.mart = 'fact_transactions'
"""


def trace(conn: Connection, schema: str, transaction_key: str) -> dict[str, Any] | None:
    """The audit trail of one fact_transactions row: file, line, dlt load, flow run, dbt invocation and Delta
    version; None when the row does not exist."""
    if not ensure_lineage_view(conn):
        raise LookupError(f"no audit trail yet: {RECORD} or the raw schemas' dlt loads do not exist")
    history.ensure_tables(conn)
    with conn, conn.cursor() as cur:
        raw_tables = {s: t for s, t in TRANSACTION_RAW.items() if _exists(cur, t)}
        cur.execute(trace_sql(schema, raw_tables), {"key": transaction_key})
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))
