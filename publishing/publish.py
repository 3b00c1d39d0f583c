"""Write–audit–publish of the marts: readers see a night only once every gate passed, in PostgreSQL and Delta alike.

Why two schemas and a view layer (blue/green) rather than staging a copy of the night: dbt writes each night into
the *candidate* schema (`marts_blue` or `marts_green`, whichever readers are not looking at), runs every test there,
and only then one PostgreSQL transaction points the views of schema `marts` at it. Readers keep their names
(`select * from marts.fact_transactions`), never see a half-built table (dbt rebuilds tables nobody reads), and never
see some marts of tonight beside some of last night (every view moves in the same transaction; a reader that
arrives during it waits a moment and then reads the new night). Incremental models stay incremental in each schema:
a candidate catches up on the nights since it was last built (normally two), so no night copies the facts.

A night that fails its gate changes nothing readers see: the views keep pointing at the previous night, and the
Delta tables keep their versions (the export runs only after the gate, and tables it wrote before a later failure
are restored). The record of every published night is `monitoring.published_runs` in PostgreSQL and the Delta
table `_published_runs` beside the marts; both carry the same run id and Delta versions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The schema analysts query: views only, moved by `publish`.
PUBLISHED_SCHEMA = "marts"
#: The two schemas dbt builds the marts into, in turn.
SLOTS = ("marts_blue", "marts_green")
#: Where plain `dbt build` (no BANKWH_MARTS_SCHEMA) writes the marts: never read by analysts, never published.
DEV_SCHEMA = "marts_dev"
#: The variable `generate_schema_name` reads for the marts' schema.
SCHEMA_ENV = "BANKWH_MARTS_SCHEMA"
RECORD_SCHEMA = "monitoring"
RECORD_TABLE = f"{RECORD_SCHEMA}.published_runs"
#: The Delta table beside the marts that records every published night.
DELTA_RECORD = "_published_runs"


@dataclass
class PublishedRun:
    """One published night, as both stores record it."""

    run_id: str
    schema: str
    dbt_invocation_id: str | None = None
    dlt_load_ids: list[str] = field(default_factory=list)
    delta_versions: dict[str, int] = field(default_factory=dict)
    mart_rows: dict[str, int] = field(default_factory=dict)
    published_at: datetime | None = None

    def describe(self) -> str:
        """A few lines for `bankwh status` and the run log."""
        when = self.published_at.isoformat(timespec="seconds") if self.published_at else "?"
        lines = [
            f"published night: run {self.run_id} at {when} (schema {self.schema})",
            f"  dbt invocation {self.dbt_invocation_id or '-'}; dlt loads {', '.join(self.dlt_load_ids) or 'none'}",
        ]
        lines += [
            f"  {mart:<40} rows {self.mart_rows.get(mart, 0):>9}  Delta v{version}"
            for mart, version in sorted(self.delta_versions.items())
        ]
        return "\n".join(lines)


DDL = f"""
create schema if not exists {RECORD_SCHEMA};
create table if not exists {RECORD_TABLE} (
    run_id text primary key,
    schema_name text not null,
    dbt_invocation_id text,
    dlt_load_ids jsonb not null default '[]',
    delta_versions jsonb not null default '{{}}',
    mart_rows jsonb not null default '{{}}',
    published_at timestamptz not null default now()
);
create schema if not exists {PUBLISHED_SCHEMA};
"""


def ensure_record_table(cur) -> None:
    cur.execute(DDL)


def last_published(cur) -> PublishedRun | None:
    """The night readers see now, or None before the first publication."""
    cur.execute("select to_regclass(%s) is not null", (RECORD_TABLE,))
    if not cur.fetchone()[0]:
        return None
    cur.execute(
        f"select run_id, schema_name, dbt_invocation_id, dlt_load_ids, delta_versions, mart_rows, published_at "
        f"from {RECORD_TABLE} order by published_at desc, run_id desc limit 1"
    )
    row = cur.fetchone()
    if row is None:
        return None
    run_id, schema, invocation, loads, versions, rows, at = row
    return PublishedRun(run_id, schema, invocation, list(loads), dict(versions), dict(rows), at)


def existing_record(cur) -> bool:
    """True once a night has been published in this database."""
    cur.execute("select to_regclass(%s) is not null", (RECORD_TABLE,))
    if not cur.fetchone()[0]:
        return False
    cur.execute(f"select exists (select from {RECORD_TABLE})")
    return bool(cur.fetchone()[0])


def candidate_schema(wh) -> str:
    """The schema tonight's marts are written to: the slot readers are not looking at."""
    with wh.cursor() as cur:
        current = last_published(cur)
    if current is None or current.schema not in SLOTS:
        return SLOTS[0]
    return SLOTS[1] if current.schema == SLOTS[0] else SLOTS[0]


def relations(cur, schema: str) -> list[str]:
    """Tables and views of a schema whose names do not start with `_` (internal), sorted."""
    cur.execute(
        """
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p') and c.relname not like '\\_%%'
        order by 1
        """,
        (schema,),
    )
    return [r[0] for r in cur.fetchall()]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def switch_views(cur, schema: str) -> list[str]:
    """Point every view of `marts` at `schema` (and drop views of marts that no longer exist). No commit here.

    Views are dropped and created rather than replaced because a mart may have gained or lost columns; inside one
    transaction readers see the old views or the new ones, never none.
    """
    marts = relations(cur, schema)
    if not marts:
        raise RuntimeError(f"schema {schema} holds no marts to publish")
    cur.execute(
        """
        select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p')
        """,
        (PUBLISHED_SCHEMA,),
    )
    existing = dict(cur.fetchall())
    views = sorted(name for name, kind in existing.items() if kind == "v")
    if views:
        # every lock at once, before anything changes: a reader holding one view while waiting for another would
        # otherwise deadlock with us; lock_timeout (set by the caller) makes us, not the reader, give way
        cur.execute(
            f"lock table {', '.join(f'{_ident(PUBLISHED_SCHEMA)}.{_ident(v)}' for v in views)} in access exclusive mode"
        )
    tables = sorted(name for name, kind in existing.items() if kind != "v" and not name.startswith("_"))
    if tables and not existing_record(cur):
        # A warehouse from before write–audit–publish: its marts were tables built in place. Keep them, aside.
        aside = f"{PUBLISHED_SCHEMA}_before_publication"
        cur.execute("select 1 from pg_namespace where nspname = %s", (aside,))
        if cur.fetchone():
            raise RuntimeError(f"schema {PUBLISHED_SCHEMA} holds tables and {aside} exists: move one of them away")
        cur.execute(f"alter schema {_ident(PUBLISHED_SCHEMA)} rename to {_ident(aside)}")
        cur.execute(f"create schema {_ident(PUBLISHED_SCHEMA)}")
        existing = {}
    elif tables:
        raise RuntimeError(
            f"schema {PUBLISHED_SCHEMA} holds tables ({', '.join(tables)}), not published views: it was built "
            f"directly (BANKWH_MARTS_SCHEMA={PUBLISHED_SCHEMA}); drop them or use another database"
        )
    for name in sorted(existing):
        if existing[name] == "v":
            cur.execute(f"drop view {_ident(PUBLISHED_SCHEMA)}.{_ident(name)}")
    for name in marts:
        cur.execute(
            f"create view {_ident(PUBLISHED_SCHEMA)}.{_ident(name)} as select * from {_ident(schema)}.{_ident(name)}"
        )
        cur.execute(
            f"comment on view {_ident(PUBLISHED_SCHEMA)}.{_ident(name)} is "
            f"'Published night: reads {schema}.{name}. Changed only by the nightly publication.'"
        )
    return marts


def publish(wh, record: PublishedRun, attempts: int = 120, lock_timeout_ms: int = 500) -> PublishedRun:
    """Make `record.schema` the published night and record it, in one transaction; returns the stored record.

    The transaction waits at most `lock_timeout_ms` for readers to let go of the views (below PostgreSQL's
    deadlock_timeout, so a reader is never the one chosen to fail), then rolls back and tries again.
    """
    import time

    import psycopg2.errors

    with wh.cursor() as cur:  # counted before the switch: readers must not wait for it
        ensure_record_table(cur)
        rows = {}
        for mart in relations(cur, record.schema):
            cur.execute(f"select count(*) from {_ident(record.schema)}.{_ident(mart)}")
            rows[mart] = int(cur.fetchone()[0])
    record.mart_rows = rows
    for attempt in range(1, attempts + 1):
        conn = wh.connect()
        try:
            with conn.cursor() as cur:
                # one publisher at a time, even outside the nightly lock (a second one waits here)
                cur.execute("select pg_advisory_xact_lock(hashtext('bankwh.publish'))")
                cur.execute(f"set local lock_timeout = '{int(lock_timeout_ms)}ms'")
                marts = switch_views(cur, record.schema)
                if set(marts) != set(rows):
                    raise RuntimeError(f"the marts of {record.schema} changed while it was being published")
                cur.execute(
                    f"insert into {RECORD_TABLE} (run_id, schema_name, dbt_invocation_id, dlt_load_ids, "
                    "delta_versions, mart_rows) values (%s, %s, %s, %s, %s, %s) returning published_at",
                    (
                        record.run_id,
                        record.schema,
                        record.dbt_invocation_id,
                        json.dumps(record.dlt_load_ids),
                        json.dumps(record.delta_versions),
                        json.dumps(rows),
                    ),
                )
                record.published_at = cur.fetchone()[0]
            conn.commit()
            return record
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.DeadlockDetected):
            conn.rollback()
            if attempt == attempts:
                raise RuntimeError(
                    f"could not publish {record.schema}: readers held the marts' views through {attempts} attempts"
                ) from None
            time.sleep(min(0.05 * attempt, 1.0))
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()
    raise AssertionError("unreachable")


def loads_since(wh, started: datetime, schemas: Iterable[str]) -> list[str]:
    """dlt load ids that the raw schemas received since `started` (tonight's deliveries)."""
    found: list[str] = []
    with wh.cursor() as cur:
        for schema in schemas:
            cur.execute("select to_regclass(%s) is not null", (f"{schema}._dlt_loads",))
            if not cur.fetchone()[0]:
                continue
            cur.execute(
                f"select load_id from {_ident(schema)}._dlt_loads where inserted_at >= %s order by load_id", (started,)
            )
            found += [r[0] for r in cur.fetchall()]
    return found


def raw_schemas(wh) -> list[str]:
    with wh.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname like 'raw\\_%%' order by 1")
        return [r[0] for r in cur.fetchall()]


# --- Delta Lake side ------------------------------------------------------------------------------------------------


def delta_versions(root: Path, marts: Iterable[str]) -> dict[str, int]:
    """Current version of each mart's Delta table (-1 where there is no table yet)."""
    from deltalake import DeltaTable

    versions = {}
    for mart in marts:
        path = root / mart
        versions[mart] = DeltaTable(str(path)).version() if DeltaTable.is_deltatable(str(path)) else -1
    return versions


def restore_delta(root: Path, before: dict[str, int], log: Callable[[str], None] = print) -> list[str]:
    """Put every Delta table that moved since `before` back to its version then (a new version with the old
    content, so readers of the latest version see the published night again). Tables created since are removed."""
    import shutil

    from deltalake import DeltaTable

    restored = []
    for mart, now in delta_versions(root, before).items():
        was = before[mart]
        if now == was:
            continue
        if was < 0:
            shutil.rmtree(root / mart, ignore_errors=True)
        else:
            DeltaTable(str(root / mart)).restore(was)
        restored.append(mart)
        log(f"Delta {mart}: back to version {was}" if was >= 0 else f"Delta {mart}: unpublished table removed")
    return restored


def record_in_delta(root: Path, record: PublishedRun) -> int:
    """Append the published night to the Delta table `_published_runs`; returns its new version."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from .delta_export import restrict_permissions, restrictive_umask

    row = asdict(record)
    table = pa.table(
        {
            "run_id": [record.run_id],
            "schema_name": [record.schema],
            "dbt_invocation_id": [record.dbt_invocation_id],
            "dlt_load_ids": [json.dumps(row["dlt_load_ids"])],
            "delta_versions": [json.dumps(row["delta_versions"])],
            "mart_rows": [json.dumps(row["mart_rows"])],
            "published_at": pa.array([record.published_at or datetime.now(UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    path = root / DELTA_RECORD
    with restrictive_umask():  # readable by the owner's group only, like the marts' tables
        write_deltalake(str(path), table, mode="append")
    restrict_permissions(path)
    return DeltaTable(str(path)).version()


def last_published_in_delta(root: Path) -> dict[str, Any] | None:
    """The newest row of `_published_runs` in Delta, with the JSON columns decoded; None when there is none."""
    from deltalake import DeltaTable

    path = root / DELTA_RECORD
    if not DeltaTable.is_deltatable(str(path)):
        return None
    rows = DeltaTable(str(path)).to_pyarrow_table().to_pylist()
    if not rows:
        return None
    newest = max(rows, key=lambda r: (r["published_at"], r["run_id"]))
    for key in ("dlt_load_ids", "delta_versions", "mart_rows"):
        newest[key] = json.loads(newest[key])
    return newest


def restored_to(path: Path, version: int) -> bool:
    """True when the newest commit of the Delta table at `path` restored it to `version` (same content)."""
    from deltalake import DeltaTable

    if version < 0 or not DeltaTable.is_deltatable(str(path)):
        return False
    (newest,) = DeltaTable(str(path)).history(1)
    restored = str(newest.get("operationParameters", {}).get("version"))
    return newest.get("operation") == "RESTORE" and restored == str(version)


def disagreements(root: Path, record: PublishedRun) -> list[str]:
    """Where Delta Lake does not show the night PostgreSQL publishes: its record and every table's version."""
    problems = []
    in_delta = last_published_in_delta(root)
    if in_delta is None:
        problems.append(f"{root / DELTA_RECORD} records no published night")
    elif in_delta["run_id"] != record.run_id:
        problems.append(f"Delta records run {in_delta['run_id']}, PostgreSQL run {record.run_id}")
    elif in_delta["delta_versions"] != record.delta_versions:
        problems.append("the Delta versions recorded in the two stores differ")
    for mart, version in delta_versions(root, record.delta_versions).items():
        if version != record.delta_versions[mart] and not restored_to(root / mart, record.delta_versions[mart]):
            published = record.delta_versions[mart]
            problems.append(f"Delta table {mart} is at version {version}, the published night at {published}")
    return problems


def realign_delta(wh, root: Path, log: Callable[[str], None] = print) -> list[str]:
    """Put back any Delta table that is ahead of the published night (a run killed between its export and the
    switch in PostgreSQL left it there); returns the marts restored. Nothing to do before the first publication."""
    with wh.cursor() as cur:
        record = last_published(cur)
    if record is None:
        return []
    current = delta_versions(root, record.delta_versions)
    ahead = {m: v for m, v in record.delta_versions.items() if current[m] > v >= 0 and not restored_to(root / m, v)}
    if ahead:
        log(f"Delta tables ahead of the published night (an interrupted run): {', '.join(sorted(ahead))}")
    return restore_delta(root, ahead, log=log)
