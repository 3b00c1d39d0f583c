"""The file ledger `<raw schema>._file_loads`: which delivered files the raw layer holds, by name and content.

One design for every delimited-file source (`raw_core_banking._file_loads`, `raw_berka._file_loads`): one row per
file name, keyed by (file_name, content_sha256), naming the load (`load_id`, dlt's package id) whose rows the raw
tables and `_quarantine` hold for that file. A ledger row is the commit marker of a file: it is written only
after the load finished and the warehouse was counted (lines_in = rows_loaded + rows_quarantined, also a check
constraint), in one transaction for all files of the run. Everything else follows from that rule:
- a file whose name and sha256 are in the ledger is never read again (re-runs load nothing);
- a changed re-delivery (a name in the ledger with another sha256) replaces the file: its new content is loaded
  beside the old, then one transaction deletes the old content's rows and quarantined lines and replaces the
  ledger row (`replaced_sha256` names the content it replaced). Readers never see both, nor neither;
- rows whose (file, load) the ledger does not name are leftovers of an interrupted load (the process was killed
  between dlt's first committed job and the ledger write); they are deleted before anything is loaded, so a retry
  is exact and nothing is doubled. So the raw layer holds exactly one load per file, and staging reads it as is;
- a file that cannot be loaded at all (no header, a mandatory column missing...) is recorded too, with
  `rejected_reason`: its lines are in `_quarantine` with that reason, so lines_in = rows_quarantined.
One advisory lock keeps two file ingests of the same database from cleaning up each other's work in flight.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from psycopg2 import sql

LEDGER_TABLE = "_file_loads"
QUARANTINE_TABLE = "_quarantine"
#: Arbitrary constant naming the "delimited-file ingest runs" advisory lock, for every source.
ADVISORY_LOCK_KEY = 7_310_452_001
PRIMARY_KEY = "PRIMARY KEY (file_name, content_sha256)"
LEDGER_COLUMNS = (
    "file_name",
    "entity",
    "content_sha256",
    "encoding",
    "lines_in",
    "rows_loaded",
    "rows_quarantined",
    "new_columns",
    "missing_columns",
    "rejected_reason",
    "replaced_sha256",
    "load_id",
    "loaded_at",
)


def ledger_ddl(schema: str) -> sql.Composed:
    return sql.SQL(
        """
        create schema if not exists {schema};
        create table if not exists {schema}.{table} (
            file_name text not null,
            entity text not null,
            content_sha256 text not null,
            encoding text not null,
            lines_in bigint not null,
            rows_loaded bigint not null,
            rows_quarantined bigint not null,
            new_columns text,
            missing_columns text,
            rejected_reason text,
            replaced_sha256 text,
            load_id text not null,
            loaded_at timestamptz not null,
            primary key (file_name, content_sha256),
            unique (file_name),
            check (lines_in = rows_loaded + rows_quarantined)
        )
        """
    ).format(schema=sql.Identifier(schema), table=sql.Identifier(LEDGER_TABLE))


@dataclass(frozen=True)
class LedgerEntry:
    file_name: str
    entity: str
    content_sha256: str
    encoding: str
    lines_in: int
    rows_loaded: int
    rows_quarantined: int
    new_columns: tuple[str, ...]
    missing_columns: tuple[str, ...]
    rejected_reason: str | None
    load_id: str
    loaded_at: datetime


def acquire_run_lock(conn, wait_s: float = 10.0) -> None:
    """Hold the ingest lock for the life of `conn`; fail clearly when another file ingest runs on this database.

    Waits a few seconds first: a run that just finished may still hold the lock while its server backend exits
    (closing a connection does not wait for that), and such a run must not refuse the next one.
    """
    deadline = time.monotonic() + wait_s
    with conn.cursor() as cur:
        while True:
            cur.execute("select pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
            if cur.fetchone()[0]:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError("another `bankwh ingest` is loading files into this database; wait for it to finish")
            time.sleep(0.2)


def release_run_lock(conn) -> None:
    """Release the ingest lock now, before the connection closes (closing alone releases it asynchronously)."""
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def ensure_ledger(cur, schema: str) -> None:
    """Create the ledger, or bring a ledger of an earlier design to this one.

    Earlier designs: the landing files' ledger was keyed by file name alone; the Czech bank's kept one row per load
    (key file name + load id) and staging read the latest load of each file. The latest load of a file is kept (it
    is the one staging read); the raw rows of the other loads go at the next clean-up (`delete_unrecorded_rows`).
    """
    cur.execute(ledger_ddl(schema))
    ledger = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(LEDGER_TABLE))
    for column in ("new_columns", "missing_columns", "rejected_reason", "replaced_sha256"):
        cur.execute(sql.SQL("alter table {} add column if not exists {} text").format(ledger, sql.Identifier(column)))
    cur.execute(
        "select conname, contype, pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass",
        (f'"{schema}"."{LEDGER_TABLE}"',),
    )
    constraints = cur.fetchall()
    if any(kind == "p" and definition == PRIMARY_KEY for _, kind, definition in constraints):
        return
    cur.execute(
        sql.SQL(
            "delete from {l} as older using {l} as newer where newer.file_name = older.file_name "
            "and (newer.loaded_at, newer.load_id) > (older.loaded_at, older.load_id)"
        ).format(l=ledger)
    )
    for name, kind, _ in constraints:
        if kind in ("p", "u"):
            cur.execute(sql.SQL("alter table {} drop constraint {}").format(ledger, sql.Identifier(name)))
    cur.execute(
        sql.SQL("alter table {} add primary key (file_name, content_sha256), add unique (file_name)").format(ledger)
    )
    if not any(kind == "c" for _, kind, _ in constraints):
        cur.execute(sql.SQL("alter table {} add check (lines_in = rows_loaded + rows_quarantined)").format(ledger))


def loaded_files(cur, schema: str) -> dict[str, str]:
    """file name → sha256 of every file the raw layer holds."""
    cur.execute(
        sql.SQL("select file_name, content_sha256 from {}.{}").format(
            sql.Identifier(schema), sql.Identifier(LEDGER_TABLE)
        )
    )
    return dict(cur.fetchall())


def file_tables(cur, schema: str) -> list[tuple[str, str]]:
    """(table, file-name column) of every table of the raw schema that holds delivered lines."""
    cur.execute(
        """
        select c.table_name, c.column_name
        from information_schema.columns as c
        join information_schema.columns as l
            on l.table_schema = c.table_schema and l.table_name = c.table_name and l.column_name = '_dlt_load_id'
        where c.table_schema = %s and c.column_name in ('_file_name', 'file_name') and c.table_name <> %s
        order by c.table_name
        """,
        (schema, LEDGER_TABLE),
    )
    return [(t, column) for t, column in cur.fetchall() if column == "_file_name" or t == QUARANTINE_TABLE]


def delete_unrecorded_rows(cur, schema: str) -> dict[str, int]:
    """Delete rows of loads the ledger does not name (an interrupted load, a replaced content); table → rows."""
    deleted: dict[str, int] = {}
    for table, column in file_tables(cur, schema):
        cur.execute(
            sql.SQL(
                "delete from {s}.{t} as t where not exists "
                "(select 1 from {s}.{l} as l where l.file_name = t.{c} and l.load_id = t._dlt_load_id)"
            ).format(
                s=sql.Identifier(schema),
                t=sql.Identifier(table),
                l=sql.Identifier(LEDGER_TABLE),
                c=sql.Identifier(column),
            )
        )
        if cur.rowcount:
            deleted[table] = cur.rowcount
    return deleted


def count_rows(
    cur, schema: str, table: str, file_column: str, line_column: str, file_names: Iterable[str], load_id: str
) -> dict[str, tuple[int, int]]:
    """file name → (rows, distinct line numbers) one load wrote into one raw table for the given files."""
    names = list(file_names)
    if not names:
        return {}
    cur.execute(
        sql.SQL(
            "select {c}, count(*), count(distinct {l}) from {s}.{t} where {c} = any(%s) and _dlt_load_id = %s "
            "group by {c}"
        ).format(
            c=sql.Identifier(file_column),
            l=sql.Identifier(line_column),
            s=sql.Identifier(schema),
            t=sql.Identifier(table),
        ),
        (names, load_id),
    )
    return {name: (rows, distinct) for name, rows, distinct in cur.fetchall()}


def ensure_line_index(cur, schema: str, table: str, file_column: str, line_column: str) -> None:
    """A unique (file, load, line) index: clean-up and counts by file and load are fast, and a line cannot be
    doubled within a load (two loads of a file stand side by side only until the replacing transaction)."""
    cur.execute(
        sql.SQL("drop index if exists {}.{}").format(sql.Identifier(schema), sql.Identifier(f"{table}__file_line"))
    )
    cur.execute(
        sql.SQL("create unique index if not exists {} on {}.{} ({}, _dlt_load_id, {})").format(
            sql.Identifier(f"{table}__file_load_line"),
            sql.Identifier(schema),
            sql.Identifier(table),
            sql.Identifier(file_column),
            sql.Identifier(line_column),
        )
    )


def record(cur, schema: str, entries: Iterable[LedgerEntry]) -> dict[str, str]:
    """Make each entry's load the one its file counts for; file name → sha256 it replaced (changed re-deliveries).

    Run in the transaction that commits the run: the rows and quarantined lines of the file's earlier load go, and
    its ledger row is replaced, so the raw layer switches from the old content to the new in one step.
    """
    replaced: dict[str, str] = {}
    s = sql.Identifier(schema)
    for e in entries:
        for table, column in ((e.entity, "_file_name"), (QUARANTINE_TABLE, "file_name")):
            cur.execute(
                sql.SQL("delete from {}.{} where {} = %s and _dlt_load_id <> %s").format(
                    s, sql.Identifier(table), sql.Identifier(column)
                ),
                (e.file_name, e.load_id),
            )
        cur.execute(
            sql.SQL("delete from {}.{} where file_name = %s returning content_sha256").format(
                s, sql.Identifier(LEDGER_TABLE)
            ),
            (e.file_name,),
        )
        previous = cur.fetchone()
        if previous is not None:
            replaced[e.file_name] = previous[0]
        cur.execute(
            sql.SQL("insert into {}.{} ({}) values ({})").format(
                s,
                sql.Identifier(LEDGER_TABLE),
                sql.SQL(", ").join(map(sql.Identifier, LEDGER_COLUMNS)),
                sql.SQL(", ").join(sql.Placeholder() * len(LEDGER_COLUMNS)),
            ),
            (
                e.file_name,
                e.entity,
                e.content_sha256,
                e.encoding,
                e.lines_in,
                e.rows_loaded,
                e.rows_quarantined,
                ",".join(e.new_columns) or None,
                ",".join(e.missing_columns) or None,
                e.rejected_reason,
                replaced.get(e.file_name),
                e.load_id,
                e.loaded_at,
            ),
        )
    return replaced
