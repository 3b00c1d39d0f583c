"""The file ledger `raw_core_banking._file_loads`: which landing files are in the warehouse, by name and content.

A ledger row is the commit marker of a file. It is written only after the load finished and the warehouse was
counted (lines in = rows in raw + rows quarantined), in one transaction for all files of the run. Everything else
follows from that rule:
- a file whose name and sha256 are in the ledger is never read again (re-runs load nothing);
- a file whose name is in the ledger with another sha256 is a changed re-delivery: reported, never merged;
- rows in raw tables whose file has no ledger row are leftovers of an interrupted load (the process was killed
  between dlt's first committed job and the ledger write); they are deleted before the file is loaded again, so
  the retry is exact and nothing is doubled.
An advisory lock keeps two ingests of the same database from cleaning up each other's work in flight.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from psycopg2 import sql

from .contract import RAW_SCHEMA

LEDGER_TABLE = "_file_loads"
QUARANTINE_TABLE = "_quarantine"
#: Arbitrary constant naming the "files ingest runs" advisory lock.
ADVISORY_LOCK_KEY = 7_310_452_001

LEDGER_DDL = f"""
create schema if not exists {RAW_SCHEMA};
create table if not exists {RAW_SCHEMA}.{LEDGER_TABLE} (
    file_name text primary key,
    entity text not null,
    content_sha256 text not null,
    encoding text not null,
    lines_in bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    new_columns text,
    missing_columns text,
    load_id text not null,
    loaded_at timestamptz not null,
    check (lines_in = rows_loaded + rows_quarantined)
)
"""


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
    load_id: str
    loaded_at: datetime


def acquire_run_lock(conn, wait_s: float = 10.0) -> None:
    """Hold the ingest lock for the life of `conn`; fail clearly when another ingest runs on this database.

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


def ensure_ledger(cur) -> None:
    cur.execute(LEDGER_DDL)


def loaded_files(cur) -> dict[str, str]:
    """file name → sha256 of every file recorded as loaded."""
    cur.execute(f"select file_name, content_sha256 from {RAW_SCHEMA}.{LEDGER_TABLE}")
    return dict(cur.fetchall())


def _raw_tables(cur) -> list[tuple[str, str]]:
    """(table, file-name column) of every table of the raw schema that holds landing-file lines."""
    cur.execute(
        """
        select table_name, column_name from information_schema.columns
        where table_schema = %s and column_name in ('_file_name', 'file_name') and table_name <> %s
        order by table_name
        """,
        (RAW_SCHEMA, LEDGER_TABLE),
    )
    return [(table, column) for table, column in cur.fetchall() if column == "_file_name" or table == QUARANTINE_TABLE]


def delete_unrecorded_rows(cur) -> dict[str, int]:
    """Delete rows of files without a ledger row (leftovers of an interrupted load); table → rows deleted."""
    deleted: dict[str, int] = {}
    for table, column in _raw_tables(cur):
        cur.execute(
            sql.SQL("delete from {}.{} t where not exists (select 1 from {}.{} l where l.file_name = t.{})").format(
                sql.Identifier(RAW_SCHEMA),
                sql.Identifier(table),
                sql.Identifier(RAW_SCHEMA),
                sql.Identifier(LEDGER_TABLE),
                sql.Identifier(column),
            )
        )
        if cur.rowcount:
            deleted[table] = cur.rowcount
    return deleted


def _table_exists(cur, table: str) -> bool:
    cur.execute("select to_regclass(%s)", (f"{RAW_SCHEMA}.{table}",))
    return cur.fetchone()[0] is not None


def count_rows(cur, table: str, column: str, line_column: str, file_names: Iterable[str]) -> dict[str, tuple[int, int]]:
    """file name → (rows, distinct line numbers) held in one raw table for the given files."""
    names = list(file_names)
    if not names or not _table_exists(cur, table):
        return {}
    cur.execute(
        sql.SQL("select {c}, count(*), count(distinct {l}) from {s}.{t} where {c} = any(%s) group by {c}").format(
            c=sql.Identifier(column),
            l=sql.Identifier(line_column),
            s=sql.Identifier(RAW_SCHEMA),
            t=sql.Identifier(table),
        ),
        (names,),
    )
    return {name: (rows, distinct) for name, rows, distinct in cur.fetchall()}


def ensure_line_index(cur, table: str, file_column: str, line_column: str) -> None:
    """A unique (file, line) index: lookups and clean-up by file are fast and a doubled line cannot exist."""
    if _table_exists(cur, table):
        cur.execute(
            sql.SQL("create unique index if not exists {} on {}.{} ({}, {})").format(
                sql.Identifier(f"{table}__file_line"),
                sql.Identifier(RAW_SCHEMA),
                sql.Identifier(table),
                sql.Identifier(file_column),
                sql.Identifier(line_column),
            )
        )


def record(cur, entries: Iterable[LedgerEntry]) -> None:
    for e in entries:
        cur.execute(
            f"insert into {RAW_SCHEMA}.{LEDGER_TABLE} values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
                e.load_id,
                e.loaded_at,
            ),
        )
