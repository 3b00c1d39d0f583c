"""What the quality report shows, read from the warehouse: the last nights and, per chart, plain rows.

Why plain rows (lists of dicts) and not data frames: the charts need a few hundred points at most, and the queries
stay readable SQL that an analyst can run by hand against schema `monitoring`. A table that does not exist yet (a
warehouse before its first night, or a check another part of the project records) is `None`, told apart from a
table with no rows for these nights (`[]`), so the page can say which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psycopg2.extensions import cursor as Cursor

SCHEMA = "monitoring"
#: History tables keyed by run (monitoring/history.py and the quality checks): a run in any of them is a night.
RUN_TABLES = ("dbt_node_results", "ingest_files", "source_freshness", "delta_exports", "anomalies", "reconciliation")
PUBLISHED = f"{SCHEMA}.published_runs"
#: Metrics of monitoring.anomalies the volume chart draws (their names start so).
VOLUME_METRICS = ("transaction_count", "transaction_amount")
#: Where dbt builds every rejected row of every source (models/intermediate/quality).
REJECTED_MODEL = "int_rejected_rows_unioned"
REJECTED_SCHEMA = "intermediate"
#: The ingest's per-schema quarantine of lines that could not be records (ingest/ledger.py).
QUARANTINE_TABLE = "_quarantine"


@dataclass(frozen=True)
class Night:
    """One nightly run: its id, when it first recorded anything, and whether it published."""

    run_id: str
    started: datetime
    published: bool

    @property
    def label(self) -> str:
        """The night on a chart's axis: its start (UTC) and the run id's first characters, unique per run."""
        return f"{self.started:%Y-%m-%d %H:%M} · {self.run_id[:8]}"


def exists(cur: Cursor, relation: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (relation,))
    return bool(cur.fetchone()[0])


def has_column(cur: Cursor, table: str, column: str) -> bool:
    cur.execute(
        "select exists (select from information_schema.columns where table_schema = %s and table_name = %s "
        "and column_name = %s)",
        (SCHEMA, table, column),
    )
    return bool(cur.fetchone()[0])


def _dicts(cur: Cursor, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    cur.execute(sql, params)
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def nights(cur: Cursor, limit: int) -> list[Night]:
    """The `limit` most recent nights, oldest first: every run id found in a history table, dated by its first
    record (a blocked night records its tests, a night with no build its files)."""
    parts = [f"select run_id, recorded_at from {SCHEMA}.{t}" for t in RUN_TABLES if exists(cur, f"{SCHEMA}.{t}")]
    if not parts:
        return []
    published = exists(cur, PUBLISHED)
    if published:
        parts.append(f"select run_id, published_at from {PUBLISHED}")
    flag = f"run_id in (select run_id from {PUBLISHED})" if published else "false"
    rows = _dicts(
        cur,
        f"""
        with runs as ({" union all ".join(parts)})
        select run_id, min(recorded_at) as started, {flag} as published
        from runs group by run_id order by started desc, run_id desc limit %s
        """,
        (limit,),
    )
    return [Night(r["run_id"], r["started"], r["published"]) for r in reversed(rows)]


def _of_nights(cur: Cursor, table: str, sql: str, nights: list[Night]) -> list[dict[str, Any]] | None:
    """Rows of `sql` (with `%s` = the nights' run ids) when monitoring.<table> exists, else None."""
    if not exists(cur, f"{SCHEMA}.{table}"):
        return None
    return _dicts(cur, sql, ([n.run_id for n in nights],))


def test_results(cur: Cursor, nights: list[Night]) -> list[dict[str, Any]] | None:
    """Per night and status, how many dbt tests (data and unit tests) ended so, and the names of those that did not
    pass."""
    return _of_nights(
        cur,
        "dbt_node_results",
        f"""
        select run_id, status, count(*) as tests, string_agg(name, ', ' order by name) as names
        from {SCHEMA}.dbt_node_results
        where run_id = any(%s) and resource_type in ('test', 'unit_test')
        group by run_id, status
        """,
        nights,
    )


def volumes(cur: Cursor, nights: list[Night]) -> list[dict[str, Any]] | None:
    """Daily transaction counts and amounts with their expected range: for each metric, segment and day the value
    the latest of these nights checked (each night re-checks a trailing window)."""
    like = " or ".join(f"metric like '{m}%%'" for m in VOLUME_METRICS)
    # one series per source system when the checks record it (monitoring/anomalies.py does)
    system = "source_system || ' ' || " if has_column(cur, "anomalies", "source_system") else ""
    return _of_nights(
        cur,
        "anomalies",
        f"""
        select distinct on (metric, segment, day)
            metric, segment, day, value, expected_low, expected_high, is_anomaly, run_id
        from (select {system}segment as segment, metric, day, value, expected_low, expected_high, is_anomaly, run_id,
                     recorded_at
              from {SCHEMA}.anomalies) as checked
        where run_id = any(%s) and ({like})
        order by metric, segment, day, recorded_at desc
        """,
        nights,
    )


def flagged(cur: Cursor, nights: list[Night], limit: int = 100) -> list[dict[str, Any]]:
    """The anomalies of these nights, every metric (volumes, rejected share per file, fraud rate), newest day first:
    each with its value and expected range, as the latest night that checked it recorded them."""
    if not exists(cur, f"{SCHEMA}.anomalies"):
        return []
    system = "source_system || ' ' || " if has_column(cur, "anomalies", "source_system") else ""
    return _dicts(
        cur,
        f"""
        select * from (
            select distinct on (metric, segment, day)
                metric, {system}segment as segment, day, value, expected_low, expected_high, is_anomaly
            from {SCHEMA}.anomalies where run_id = any(%s)
            order by metric, segment, day, recorded_at desc
        ) as latest
        where is_anomaly order by day desc, metric, segment limit %s
        """,
        ([n.run_id for n in nights], limit),
    )


def freshness(cur: Cursor, nights: list[Night]) -> list[dict[str, Any]] | None:
    """Each source table's freshness verdict and age per night."""
    return _of_nights(
        cur,
        "source_freshness",
        f"""
        select run_id, source_name || '.' || table_name as source, status, age_seconds, error_after, message
        from {SCHEMA}.source_freshness where run_id = any(%s)
        order by source
        """,
        nights,
    )


def reconciliation(cur: Cursor, nights: list[Night]) -> list[dict[str, Any]] | None:
    """The unexplained difference (rows and amount) of every reconciled table and stage step per night."""
    return _of_nights(
        cur,
        "reconciliation",
        f"""
        select run_id,
            source_system || '.' || entity || ' ' || from_stage || '→' || to_stage as step,
            rows_in, rows_out, explained_rows, unexplained_rows, unexplained_amount
        from {SCHEMA}.reconciliation where run_id = any(%s)
        order by step
        """,
        nights,
    )


def delta_versions(cur: Cursor, nights: list[Night]) -> list[dict[str, Any]] | None:
    """The Delta version each night exported per mart (only nights that passed their gate export)."""
    return _of_nights(
        cur,
        "delta_exports",
        f"""
        select run_id, mart, version, rows, action, parity_ok
        from {SCHEMA}.delta_exports where run_id = any(%s) and version is not null
        order by mart
        """,
        nights,
    )


def quarantine_schemas(cur: Cursor) -> list[str]:
    """The raw schemas holding an ingest quarantine (raw_core_banking, raw_berka...)."""
    cur.execute(
        "select table_schema from information_schema.tables where table_name = %s and table_schema like 'raw%%' "
        "order by 1",
        (QUARANTINE_TABLE,),
    )
    return [schema for (schema,) in cur.fetchall()]


def rejected_rows(cur: Cursor) -> list[dict[str, Any]] | None:
    """Every row the warehouse holds back today, counted by origin, reason and file: rows a staging check rejected
    (the dbt model int_rejected_rows_unioned) and lines the ingest quarantined (each raw schema's `_quarantine`,
    the reason's text up to its first colon, so `wrong field count: expected 11, got 12` counts as one reason).
    None when neither exists yet."""
    parts = []
    model = f"{REJECTED_SCHEMA}.{REJECTED_MODEL}"
    if exists(cur, model):
        parts.append(
            f"select 'rejected by dbt' as kind, source_system || '.' || entity as origin, rejection_reason as reason, "
            f"coalesce(source_file_name, '(API records)') as file from {model}"
        )
    for schema in quarantine_schemas(cur):
        parts.append(
            f"select 'quarantined at ingest' as kind, '{schema}' as origin, split_part(reason, ':', 1) as reason, "
            f"file_name as file "
            f'from "{schema}"."{QUARANTINE_TABLE}"'
        )
    if not parts:
        return None
    return _dicts(
        cur,
        f"""
        with rows as ({" union all ".join(parts)})
        select kind, origin, reason, file, count(*) as rows from rows group by kind, origin, reason, file
        order by rows desc, file
        """,
    )
