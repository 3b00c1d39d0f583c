"""Export the public marts from PostgreSQL to Delta Lake tables under `data/delta/<mart>`.

Facts are partitioned by `month` (YYYY-MM of the fact's date) and exported incrementally: a fingerprint per month
(row count + sum of a 64-bit hash of every row's text, computed in PostgreSQL in one scan) is stored in the commit
metadata of each export; the next export compares fingerprints and rewrites only the months that differ, in one
commit (`write_deltalake(mode="overwrite", predicate="month IN (...)")`). Dimensions and aggregates are rewritten
whole when their fingerprint changed. A table whose fingerprints did not change gets no new version.

Strategy measured with `bench/delta_export.py` (fact of 1 000 000 rows over 12 months, 1 % of one month's rows
changed, so that month of ~83 000 rows is rewritten): predicate overwrite of the changed month 0.28 s for the
read + commit step, `DeltaTable.merge` on the key (update/insert, delete-by-source restricted to that month)
0.45 s; whole export including fingerprint scan and parity 1.26 s against 1.22 s. Overwrite is the one strategy:
it needs no key (marts need not declare one), is faster at the write step, and its add actions touch exactly the
changed partitions.

Schema changes: new columns are added (`schema_mode="merge"`, table rewritten, reported); dropped or retyped columns
stop the export of that mart with a message naming them, unless `allow_schema_overwrite` replaces the schema.
After writing: small-file compaction per partition, parity check (on mismatch the previous version is restored),
vacuum of files older than the retention.

Permissions: the marts hold pseudonymised personal data, so the Delta files are readable by their owner's group only
(files 0640, directories 0750): the export runs under umask 027 (Delta's writer creates files with the process umask)
and then tightens whatever an earlier export or another writer left wider.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from warehouse import roles
from warehouse.pg_arrow import Column, copy_to_arrow, quote_ident, relation_columns
from warehouse.project import project_path

from . import parity

STATE_KEY = "bankwh.export"
#: umask of every Delta write, and the modes the tree is tightened to: owner read/write, group read, others nothing
DELTA_UMASK = 0o027
FILE_MODE = 0o640
DIR_MODE = 0o750
PARTITION_COLUMN = "month"
NULL_MONTH = "__null__"
#: Preferred date columns of facts, in order; otherwise the first date, then timestamp column is used.
PREFERRED_DATE_COLUMNS = (
    "booked_date",
    "transaction_date",
    "value_date",
    "payment_date",
    "paid_on",
    "posting_date",
    "revenue_date",
    "start_date",
    "survey_date",
    "date_day",
    "date",
)


class SchemaChangeError(RuntimeError):
    """A mart lost or retyped columns compared with its Delta table."""


class ParityError(RuntimeError):
    """The Delta table read back does not match PostgreSQL."""

    def __init__(self, message: str, parity_result: dict[str, Any]):
        super().__init__(message)
        self.parity_result = parity_result


class ExportError(RuntimeError):
    """Some marts could not be exported; the others were (their results are attached)."""

    def __init__(self, message: str, results: list[MartExport]):
        super().__init__(message)
        self.results = results


@dataclass(frozen=True)
class ExportConfig:
    #: default: data/delta in the project directory (looked up when a config is made, not at import)
    root: Path = field(default_factory=lambda: project_path("data", "delta"))
    schema: str = "marts"
    retention_hours: int = 168
    compact_min_files: int = 16
    allow_schema_overwrite: bool = False
    #: fact → column the month partition is derived from (overrides the automatic choice)
    partition_columns: dict[str, str] = field(default_factory=dict)
    business_timezone: str = "Europe/Paris"


@dataclass
class MartExport:
    mart: str
    kind: str  # "fact" or "table"
    action: str  # created | incremental | rewritten | unchanged
    rows: int = 0
    partitions_rewritten: int = 0
    partitions_total: int = 0
    version: int = -1
    new_columns: list[str] = field(default_factory=list)
    compacted_partitions: list[str] = field(default_factory=list)
    vacuumed_files: int = 0
    parity: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    write_seconds: float = 0.0  # reading the changed rows from PostgreSQL and committing them to Delta

    @property
    def parity_ok(self) -> bool:
        return bool(self.parity.get("ok"))


def list_marts(cur, schema: str = "marts") -> list[str]:
    """Tables and views of the marts schema, by name (names starting with `_` are internal)."""
    from .publish import relations

    return relations(cur, schema)


def is_fact(mart: str) -> bool:
    return mart.startswith("fact_")


def partition_source(mart: str, columns: list[Column], overrides: dict[str, str]) -> Column:
    """The column a fact's month comes from: configured, preferred name, first date, first timestamp."""
    by_name = {c.name: c for c in columns}
    if mart in overrides:
        if overrides[mart] not in by_name:
            raise ValueError(f"partition column {overrides[mart]} configured for {mart} is not one of its columns")
        return by_name[overrides[mart]]
    for name in PREFERRED_DATE_COLUMNS:
        if name in by_name and pa.types.is_date(by_name[name].arrow_type):
            return by_name[name]
    for test in (pa.types.is_date, pa.types.is_timestamp):
        for c in columns:
            if test(c.arrow_type):
                return c
    raise ValueError(
        f"fact {mart} has no date or timestamp column to partition by month; "
        "configure one with partition_columns / --partition-column"
    )


def month_sql(col: Column, timezone: str) -> str:
    """SQL giving 'YYYY-MM' of the column (timestamps in the bank's time zone)."""
    ident = quote_ident(col.name)
    if col.pg_type == "timestamp with time zone":
        return f"to_char({ident} at time zone '{timezone}', 'YYYY-MM')"
    return f"to_char({ident}, 'YYYY-MM')"


def fingerprints(conn, schema: str, mart: str, month_expr: str | None) -> dict[str, list]:
    """Per month (or `__all__`): [row count, sum of 64-bit row hashes as text]. One scan, order-independent."""
    rel = f"{quote_ident(schema)}.{quote_ident(mart)}"
    row_hash = "sum(hashtextextended(t::text, 0)::numeric)::text"
    with conn.cursor() as cur:
        if month_expr is None:
            cur.execute(f"select count(*), {row_hash} from {rel} t")
            count, digest = cur.fetchone()
            return {"__all__": [int(count), digest or "0"]}
        cur.execute(f"select {month_expr}, count(*), {row_hash} from {rel} t group by 1")
        return {(m if m is not None else NULL_MONTH): [int(n), d] for m, n, d in cur.fetchall()}


def last_export_state(dt) -> dict[str, Any] | None:
    """The state stored by the export commit the table's content comes from (maintenance commits carry none).

    A RESTORE to version v means the content is v's again: commits after v (an unpublished night's export, rolled
    back) no longer describe the table and are skipped.
    """
    back_to = None
    for commit in dt.history():  # newest first
        if back_to is not None and commit.get("version", -1) > back_to:
            continue
        if commit.get("operation") == "RESTORE":
            back_to = int(commit.get("operationParameters", {}).get("version", -1))
            continue
        if STATE_KEY in commit:
            return json.loads(commit[STATE_KEY])
    return None


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    strings = (pa.string(), pa.large_string(), pa.string_view())
    return a == b or (a in strings and b in strings)


def schema_diff(expected: pa.Schema, current: pa.Schema) -> tuple[list[str], list[str]]:
    """(new columns, problems): problems are dropped or retyped columns."""
    have = {f.name: f.type for f in current}
    want = {f.name: f.type for f in expected}
    new = [n for n in want if n not in have]
    problems = [f"column {n} ({have[n]}) was dropped" for n in have if n not in want]
    problems += [
        f"column {n} changed type from {have[n]} to {want[n]}"
        for n in want
        if n in have and not _same_type(want[n], have[n])
    ]
    return new, problems


def _month_filter_sql(month_expr: str, months: list[str]) -> str:
    """`month_expr` in the given months (NULL_MONTH: the rows without a month); the same text serves PostgreSQL's
    WHERE and Delta's overwrite predicate (on PARTITION_COLUMN)."""
    parts = []
    named = [m for m in months if m != NULL_MONTH]
    if named:
        parts.append(f"{month_expr} IN ({', '.join(repr(m) for m in sorted(named))})")
    if NULL_MONTH in months:
        parts.append(f"{month_expr} IS NULL")
    return " OR ".join(parts)


def compact_small_files(dt, min_files: int) -> list[str]:
    """Compact each partition (or the whole unpartitioned table) holding at least `min_files` files."""
    actions = pa.table(dt.get_add_actions(flatten=True))
    key = f"partition.{PARTITION_COLUMN}"
    if key not in actions.column_names:
        if actions.num_rows >= min_files:
            dt.optimize.compact()
            return ["(table)"]
        return []
    counts: dict[Any, int] = {}
    for value in actions[key].to_pylist():
        counts[value] = counts.get(value, 0) + 1
    crowded = sorted(m for m, n in counts.items() if n >= min_files and m is not None)
    for month in crowded:
        dt.optimize.compact(partition_filters=[(PARTITION_COLUMN, "=", month)])
    return crowded


def vacuum(dt, retention_hours: int) -> int:
    """Delete files no longer referenced and older than the retention; returns how many were removed."""
    removed = dt.vacuum(
        retention_hours=retention_hours, dry_run=False, enforce_retention_duration=retention_hours >= 168
    )
    return len(removed)


def drop_history(root: Path) -> dict[str, int]:
    """Leave every Delta table under root with its current version only; {table: files deleted}.

    Why not `vacuum`: an erasure must leave no trace of older versions, and vacuum with retention 0 deletes their
    data files but keeps their commits, whose statistics (each column's min and max per file) still hold old
    values; it also commits two versions of its own, moving every table away from the version the published night
    records. Here each table gets a checkpoint of its current version, then the commits and checkpoints before it
    and every data file the current version does not reference are deleted. The version number stays, so readers,
    the published record and `bankwh status` see the same night; time travel to earlier versions is gone.
    """
    from urllib.parse import unquote

    from deltalake import DeltaTable

    deleted: dict[str, int] = {}
    if not root.is_dir():
        return deleted
    with restrictive_umask():
        for path in sorted(p for p in root.iterdir() if (p / "_delta_log").is_dir()):
            dt = DeltaTable(str(path))
            version = dt.version()
            dt.create_checkpoint()
            kept = {Path(unquote(uri.removeprefix("file://"))).resolve() for uri in dt.file_uris()}
            count = 0
            for entry in (path / "_delta_log").iterdir():
                number = entry.name.split(".", 1)[0]
                if number.isdigit() and int(number) < version:
                    entry.unlink()
                    count += 1
            for data in path.rglob("*.parquet"):
                if "_delta_log" not in data.relative_to(path).parts and data.resolve() not in kept:
                    data.unlink()
                    count += 1
            deleted[path.name] = count
    restrict_permissions(root)
    return deleted


@contextmanager
def restrictive_umask() -> Iterator[None]:
    """Files created inside get no permission for others (the umask is per process: restored on the way out)."""
    previous = os.umask(DELTA_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def restrict_permissions(root: Path) -> int:
    """Tighten every file under root to 0640 and every directory to 0750; returns how many modes were changed."""
    changed = 0
    if not root.exists():
        return changed
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        wanted = DIR_MODE if path.is_dir() else FILE_MODE
        if path.stat().st_mode & 0o777 != wanted:
            path.chmod(wanted)
            changed += 1
    return changed


def _write(
    conn,
    path: Path,
    select_sql: str,
    schema: pa.Schema,
    *,
    mode: str,
    predicate: str | None,
    partition_by: list[str] | None,
    schema_mode: str | None,
    state: dict[str, Any],
) -> None:
    from deltalake import CommitProperties, write_deltalake

    with copy_to_arrow(conn, select_sql, schema) as reader:
        write_deltalake(
            str(path),
            reader,
            mode=mode,
            predicate=predicate,
            partition_by=partition_by,
            schema_mode=schema_mode,
            commit_properties=CommitProperties(custom_metadata={STATE_KEY: json.dumps(state)}),
        )


def export_mart(wh, mart: str, config: ExportConfig, full: bool = False) -> MartExport:
    """Export one mart; see the module docstring for what is rewritten when."""
    from deltalake import DeltaTable

    started = time.perf_counter()
    path = config.root / mart
    conn = wh.connect()
    try:
        # One snapshot for fingerprints, data and parity: what is exported is what was fingerprinted.
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            columns = relation_columns(cur, config.schema, mart)
        fact = is_fact(mart)
        if fact and any(c.name == PARTITION_COLUMN for c in columns):
            raise ValueError(f"fact {mart} has a column named {PARTITION_COLUMN!r}, the Delta partition column")
        month_expr = (
            month_sql(partition_source(mart, columns, config.partition_columns), config.business_timezone)
            if fact
            else None
        )
        current = fingerprints(conn, config.schema, mart, month_expr)

        fields = [pa.field(c.name, c.arrow_type) for c in columns]
        selects = [f"{c.select_expr} as {quote_ident(c.name)}" for c in columns]
        if fact:
            fields.append(pa.field(PARTITION_COLUMN, pa.string()))
            selects.append(f"{month_expr} as {PARTITION_COLUMN}")
        arrow_schema = pa.schema(fields)
        base_sql = f"select {', '.join(selects)} from {quote_ident(config.schema)}.{quote_ident(mart)} t"
        state = {"fingerprints": current, "columns": {c.name: c.pg_type for c in columns}}
        result = MartExport(mart=mart, kind="fact" if fact else "table", action="unchanged")
        result.rows = sum(v[0] for v in current.values())
        result.partitions_total = len(current) if fact else 0
        partition_by = [PARTITION_COLUMN] if fact else None

        write_started = time.perf_counter()
        exists = DeltaTable.is_deltatable(str(path))
        previous_version = None
        if not exists:
            path.mkdir(parents=True, exist_ok=True)
            _write(conn, path, base_sql, arrow_schema, mode="overwrite", predicate=None,
                   partition_by=partition_by, schema_mode=None, state=state)  # fmt: skip
            result.action = "created"
            result.partitions_rewritten = len(current) if fact else 0
        else:
            dt = DeltaTable(str(path))
            previous_version = dt.version()
            new_cols, problems = schema_diff(arrow_schema, pa.schema(dt.schema().to_arrow()))
            if problems and not config.allow_schema_overwrite:
                raise SchemaChangeError(
                    f"mart {mart}: {'; '.join(problems)}. The Delta table at {path} keeps its previous version; "
                    "rerun with --allow-schema-overwrite to replace its schema"
                )
            old = (last_export_state(dt) or {}).get("fingerprints", {})
            if problems or new_cols or full or not fact or not old:
                if full or problems or new_cols or current != old:
                    _write(conn, path, base_sql, arrow_schema, mode="overwrite", predicate=None,
                           partition_by=partition_by,
                           schema_mode="overwrite" if problems else ("merge" if new_cols else None),
                           state=state)  # fmt: skip
                    result.action = "rewritten"
                    result.partitions_rewritten = len(current) if fact else 0
                    result.new_columns = new_cols
            else:
                changed = sorted(m for m in set(current) | set(old) if current.get(m) != old.get(m))
                if changed:
                    sql = f"{base_sql} where {_month_filter_sql(month_expr, changed)}"
                    predicate = _month_filter_sql(PARTITION_COLUMN, changed)
                    _write(conn, path, sql, arrow_schema, mode="overwrite", predicate=predicate,
                           partition_by=partition_by, schema_mode=None, state=state)  # fmt: skip
                    result.action = "incremental"
                    result.partitions_rewritten = len(changed)

        result.write_seconds = time.perf_counter() - write_started
        dt = DeltaTable(str(path))
        if result.action != "unchanged":
            result.compacted_partitions = compact_small_files(dt, config.compact_min_files)
            dt = DeltaTable(str(path))
        month_counts = {m: v[0] for m, v in current.items()} if fact else None
        result.parity = parity.check_parity(conn, config.schema, mart, columns, path, month_counts)
        if not result.parity["ok"]:
            # Unpublish what this export wrote; a table that was already wrong before is left for --full.
            restore = previous_version is not None and result.action != "unchanged"
            if restore:
                dt.restore(previous_version)
            raise ParityError(
                f"mart {mart}: Delta version {result.parity['version']} does not match PostgreSQL "
                f"({'; '.join(result.parity['mismatches'])}); "
                + (f"restored version {previous_version}" if restore else "rerun the export with --full"),
                result.parity,
            )
        result.vacuumed_files = vacuum(dt, config.retention_hours)
        result.version = DeltaTable(str(path)).version()
        result.seconds = time.perf_counter() - started
        return result
    finally:
        conn.rollback()
        conn.close()


def export_marts(
    wh,
    marts: list[str] | None = None,
    config: ExportConfig | None = None,
    full: bool = False,
    log: Callable[[str], None] = print,
) -> list[MartExport]:
    """Export the given marts (default: every mart of the schema) and record parity in `_parity.jsonl`.

    Everything is written under umask 027 and the tree is left with modes 0640/0750 (see the module docstring)."""
    config = config or ExportConfig()
    if config.schema in roles.EXPORTER_SCHEMAS:  # the export only reads: as bankwh_exporter where there is one
        wh = wh.for_role(roles.EXPORTER)
    with restrictive_umask():
        try:
            return _export_marts(wh, marts, config, full, log)
        finally:
            restrict_permissions(config.root)


def _export_marts(
    wh, marts: list[str] | None, config: ExportConfig, full: bool, log: Callable[[str], None]
) -> list[MartExport]:
    with wh.cursor() as cur:
        available = list_marts(cur, config.schema)
    if marts:
        unknown = sorted(set(marts) - set(available))
        if unknown:
            raise ValueError(
                f"unknown mart(s) {', '.join(unknown)} in schema {config.schema}; "
                f"available: {', '.join(available) or 'none (run dbt build first)'}"
            )
    else:
        marts = available
        if not marts:
            raise RuntimeError(f"schema {config.schema} has no tables to export (run dbt build first)")
    results: list[MartExport] = []
    checked: list[dict[str, Any]] = []
    failures: list[str] = []
    for i, mart in enumerate(marts, 1):
        log(f"[{i}/{len(marts)}] exporting {config.schema}.{mart} → {config.root / mart}")
        try:
            result = export_mart(wh, mart, config, full=full)
        except ParityError as exc:
            checked.append(dict(exc.parity_result, action="failed"))
            failures.append(str(exc))
            continue
        except (SchemaChangeError, ValueError) as exc:
            failures.append(str(exc))
            continue
        results.append(result)
        checked.append(dict(result.parity, action=result.action))
        log(f"      {result.action}: {result.rows} rows, version {result.version}, {result.seconds:.2f} s")
    parity.record(config.root, checked)
    if failures:
        raise ExportError(f"{len(failures)} of {len(marts)} mart(s) not exported: " + " | ".join(failures), results)
    return results


def summary_table(results: list[MartExport]) -> str:
    """A fixed-width table: mart, rows, partitions rewritten, version, parity."""
    header = ("mart", "rows", "rewritten", "version", "action", "parity")
    rows = [
        (
            r.mart,
            str(r.rows),
            f"{r.partitions_rewritten}/{r.partitions_total}" if r.kind == "fact" else "-",
            str(r.version),
            r.action + (f" (+{', '.join(r.new_columns)})" if r.new_columns else ""),
            "ok" if r.parity_ok else "MISMATCH",
        )
        for r in results
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
