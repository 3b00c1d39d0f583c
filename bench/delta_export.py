"""Benchmark of the Delta export: how to read PostgreSQL into Arrow, and the cost of rewriting a changed month.

Run: `.venv/bin/python -m bench.delta_export [--rows N]`. It creates a scratch database, a fact of N rows over 12
months, and prints one line per measurement. The numbers quoted in warehouse/pg_arrow.py and
publishing/delta_export.py come from this script at the default size (the MERGE strategy they compare against was
removed from the export; the overwrite it lost to is the one measured here).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa

import warehouse
from publishing.delta_export import ExportConfig, export_mart
from warehouse.pg_arrow import quote_ident, read_table, relation_columns

DB = "bankwh_bench_delta"


def _setup(rows: int) -> warehouse.Warehouse:
    server = warehouse.resolve(log=lambda *_: None).with_database("postgres")
    with server.cursor() as cur:
        cur.execute(f"drop database if exists {DB} with (force)")
        cur.execute(f"create database {DB}")
    wh = server.with_database(DB)
    with wh.cursor() as cur:
        cur.execute(
            f"""
            create schema marts;
            create table marts.fact_transactions as
            select g::bigint as transaction_id, 'ACC' || (g % 5000) as account_id,
                   date '2025-01-01' + (g % 365) as booked_date,
                   timestamptz '2025-01-01 00:00:00+00' + (g % 365) * interval '1 day' + g * interval '1 ms'
                     as booked_at,
                   round(((g::bigint * 7919) % 100000)::numeric / 100 - 500, 2)::numeric(18,2) as amount,
                   'EUR'::text as currency, (array['card_pos','atm','transfer_in'])[1 + g % 3] as channel,
                   md5(g::text) as description
            from generate_series(1, {rows}) g;
            analyze marts.fact_transactions;
            """
        )
    return wh


def _timed(label: str, func) -> float:
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    extra = f"  (write step {result.write_seconds:.3f} s)" if hasattr(result, "write_seconds") else ""
    print(f"{label:<58} {seconds:8.3f} s{extra}")
    return seconds


def _cursor_read(wh: warehouse.Warehouse, schema: pa.Schema) -> pa.Table:
    conn = wh.connect()
    try:
        with conn.cursor(name="bench") as cur:
            cur.itersize = 10_000
            cur.execute("select * from marts.fact_transactions")
            names = [f.name for f in schema]
            batches = []
            while rows := cur.fetchmany(10_000):
                batches.append(pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows], schema))
        return pa.concat_tables(batches)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the benchmark fact (default 200000)")
    args = parser.parse_args(argv)
    wh = _setup(args.rows)
    with wh.cursor() as cur:
        columns = relation_columns(cur, "marts", "fact_transactions")
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in columns])
    select = "select " + ", ".join(f"{c.select_expr} as {quote_ident(c.name)}" for c in columns)
    select += " from marts.fact_transactions"
    conn = wh.connect()
    try:
        _timed(f"read {args.rows} rows: COPY csv -> pyarrow", lambda: read_table(conn, select, schema))
    finally:
        conn.close()
    _timed(f"read {args.rows} rows: server-side cursor -> from_pylist", lambda: _cursor_read(wh, schema))

    work = Path(tempfile.mkdtemp(prefix="bankwh-bench-"))
    try:
        config = ExportConfig(root=work / "fact_transactions")
        _timed("export: first export (12 months)", lambda: export_mart(wh, "fact_transactions", config))
        with wh.cursor() as cur:
            cur.execute(
                "update marts.fact_transactions set amount = amount + 1 "
                "where booked_date between '2025-06-01' and '2025-06-30' and transaction_id % 100 = 0"
            )
        _timed("export: 1 changed month (predicate overwrite)", lambda: export_mart(wh, "fact_transactions", config))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with wh.with_database("postgres").cursor() as cur:
            cur.execute(f"drop database if exists {DB} with (force)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
