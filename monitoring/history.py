"""The nightly history in schema `monitoring`: one row per dbt node, landing file, exported mart and source
freshness check, keyed by the run, appended every night and never overwritten.

Why append-only and keyed by run: the trend of a test's failures, a file's quarantined lines or a mart's Delta
versions is a query over nights (`group by run_id`), and a night that failed its gate is as much history as one that
published. The same run recorded twice (a retried task) inserts nothing twice (`on conflict do nothing`), and never
replaces what a night recorded first.

Takes a DB-API connection (autocommit off; each call commits once) and plain data: parsed dbt artifacts, the ingest
tasks' counts and the export task's rows, so it depends on nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .findings import manifest_node
from .freshness import SourceFreshness

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

SCHEMA = "monitoring"
DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.dbt_node_results (
    run_id text not null,
    invocation_id text,
    unique_id text not null,
    resource_type text not null,
    name text not null,
    status text not null,
    failures bigint,
    rows_affected bigint,
    execution_time double precision,
    message text,
    recorded_at timestamptz not null default now(),
    primary key (run_id, unique_id)
);
create table if not exists {SCHEMA}.ingest_files (
    run_id text not null,
    source text not null,
    file text not null,
    status text not null,
    lines_in bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    reason text,
    recorded_at timestamptz not null default now(),
    primary key (run_id, source, file)
);
create table if not exists {SCHEMA}.delta_exports (
    run_id text not null,
    mart text not null,
    rows bigint,
    action text,
    partitions_rewritten integer,
    version bigint,
    parity_ok boolean,
    recorded_at timestamptz not null default now(),
    primary key (run_id, mart)
);
create table if not exists {SCHEMA}.source_freshness (
    run_id text not null,
    invocation_id text,
    unique_id text not null,
    source_name text not null,
    table_name text not null,
    max_loaded_at timestamptz,
    snapshotted_at timestamptz,
    age_seconds double precision,
    status text not null,
    warn_after text,
    error_after text,
    message text,
    recorded_at timestamptz not null default now(),
    primary key (run_id, unique_id)
);
"""
COLUMNS = {
    "dbt_node_results": ("run_id", "invocation_id", "unique_id", "resource_type", "name", "status", "failures",
                         "rows_affected", "execution_time", "message"),
    "ingest_files": ("run_id", "source", "file", "status", "lines_in", "rows_loaded", "rows_quarantined", "reason"),
    "delta_exports": ("run_id", "mart", "rows", "action", "partitions_rewritten", "version", "parity_ok"),
    "source_freshness": ("run_id", "invocation_id", "unique_id", "source_name", "table_name", "max_loaded_at",
                         "snapshotted_at", "age_seconds", "status", "warn_after", "error_after", "message"),
}  # fmt: skip


def ensure_tables(conn: Connection) -> None:
    """Create the schema and the history tables when missing (the first night, or a new database)."""
    with conn, conn.cursor() as cur:
        cur.execute(DDL)


def append(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert `rows` (dicts with the table's columns) into monitoring.<table> in one transaction; the number of
    rows given (a row this run already recorded is kept as it was)."""
    columns = COLUMNS[table]
    if not rows:
        return 0
    sql = (
        f"insert into {SCHEMA}.{table} ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))}) "
        "on conflict do nothing"
    )
    with conn, conn.cursor() as cur:
        cur.executemany(sql, [tuple(row.get(c) for c in columns) for row in rows])
    return len(rows)


def dbt_node_rows(run_id: str, run_results: dict, manifest: dict) -> list[dict[str, Any]]:
    """One row per node of a dbt invocation's `run_results.json`, named and typed from its `manifest.json`."""
    invocation = run_results.get("metadata", {}).get("invocation_id")
    rows = []
    for result in run_results.get("results", []):
        unique_id = result["unique_id"]
        node = manifest_node(manifest, unique_id) or {}
        rows.append(
            {
                "run_id": run_id,
                "invocation_id": invocation,
                "unique_id": unique_id,
                "resource_type": node.get("resource_type") or unique_id.split(".", 1)[0],
                "name": node.get("name") or unique_id.rsplit(".", 1)[-1],
                "status": str(result.get("status")),
                "failures": result.get("failures"),
                "rows_affected": (result.get("adapter_response") or {}).get("rows_affected"),
                "execution_time": result.get("execution_time"),
                "message": result.get("message"),
            }
        )
    return rows


def ingest_file_rows(run_id: str, ingest: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The files each file source read tonight: the `file_results` list of its counts (source -> counts)."""
    return [
        {"run_id": run_id, "source": source, **row}
        for source, counts in ingest.items()
        if isinstance(counts, Mapping)
        for row in counts.get("file_results", [])
    ]


def export_rows(run_id: str, exported: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The Delta export's rows (mart, rows, action, partitions_rewritten, version, parity_ok) of a run."""
    return [{"run_id": run_id, **{c: row.get(c) for c in COLUMNS["delta_exports"][1:]}} for row in exported]


def freshness_rows(run_id: str, results: Iterable[SourceFreshness]) -> list[dict[str, Any]]:
    """One row per source table of a freshness check."""
    return [
        {
            "run_id": run_id,
            "invocation_id": r.invocation_id,
            "unique_id": r.unique_id,
            "source_name": r.source_name,
            "table_name": r.table_name,
            "max_loaded_at": r.max_loaded_at,
            "snapshotted_at": r.snapshotted_at,
            "age_seconds": r.age_seconds,
            "status": r.status,
            "warn_after": r.warn_after,
            "error_after": r.error_after,
            "message": r.message or None,
        }
        for r in results
    ]


def record(
    conn: Connection,
    run_id: str,
    *,
    run_results: dict | None = None,
    manifest: dict | None = None,
    ingest: Mapping[str, Mapping[str, Any]] | None = None,
    freshness: Iterable[SourceFreshness] | None = None,
    exported: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, int]:
    """Append what the caller has of one night (each part optional) and say how many rows each table got."""
    ensure_tables(conn)
    counts = {}
    if run_results is not None:
        nodes = dbt_node_rows(run_id, run_results, manifest or {})
        counts["dbt_node_results"] = append(conn, "dbt_node_results", nodes)
    if ingest is not None:
        counts["ingest_files"] = append(conn, "ingest_files", ingest_file_rows(run_id, ingest))
    if freshness is not None:
        counts["source_freshness"] = append(conn, "source_freshness", freshness_rows(run_id, freshness))
    if exported is not None:
        counts["delta_exports"] = append(conn, "delta_exports", export_rows(run_id, exported))
    return counts
