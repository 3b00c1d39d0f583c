"""Whole-warehouse benchmark: one night and the next, at a given scale, each step next to its plain-PostgreSQL floor.

Steps, in a scratch database that is dropped at the end:
1. generate the demo bank (`--days` days) into a temporary folder;
2. ingest every landing file with dlt (rows/s), then COPY the same transactions files into a bare text table
   (the floor: no parsing, no quarantine, no ledger);
3. ingest the bank API (surveys, FX rates) from a real server on loopback;
4. `dbt build` from scratch (the full build);
5. generate the next day, ingest it, `dbt build` again (the incremental build: fact_transactions merges only the
   lookback window, snapshots add changed versions);
6. export every mart to Delta Lake from scratch (rows/s), then time `COPY (select * from <marts>) TO STDOUT`
   for the same marts (the floor for reading them out of PostgreSQL).

Run: `python -m bench.run --what warehouse --scale 1` (registered in bench/run.py).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from publishing.publish import DEV_SCHEMA


@contextmanager
def scratch_database() -> Iterator[Any]:
    """A database of its own on the warehouse server, exported as PGDATABASE for dbt; dropped afterwards."""
    import warehouse

    server = warehouse.resolve(log=lambda *_: None).with_database("postgres")
    name = f"bankwh_bench_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    previous = os.environ.get("PGDATABASE")
    os.environ["PGDATABASE"] = name
    try:
        yield server.with_database(name)
    finally:
        if previous is None:
            os.environ.pop("PGDATABASE", None)
        else:
            os.environ["PGDATABASE"] = previous
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


def _timed(results: dict[str, Any], key: str, func: Callable[[], Any]) -> Any:
    print(f"  {key} ...", flush=True)
    started = time.perf_counter()
    value = func()
    results[key] = round(time.perf_counter() - started, 2)
    print(f"  {key}: {results[key]} s", flush=True)
    return value


def _dbt_build(extra: list[str] | None = None) -> None:
    from bankwh.build import invoke

    if invoke(["build", "--threads", "4", "--quiet", *(extra or [])]) != 0:
        raise RuntimeError("dbt build failed during the benchmark")


def _copy_out_seconds(wh, marts: list[str]) -> tuple[float, int]:
    """Time COPY ... TO STDOUT (CSV) of every mart; returns seconds and bytes streamed."""
    conn = wh.connect()
    total = 0
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            for mart in marts:
                sink = io.BytesIO()
                cur.copy_expert(f'copy (select * from {DEV_SCHEMA}."{mart}") to stdout with (format csv)', sink)
                total += sink.tell()
        return time.perf_counter() - started, total
    finally:
        conn.close()


def bench_warehouse(args: argparse.Namespace) -> dict[str, Any]:
    from bank_sim.api.server import start_server, stop_server
    from bank_sim.generator import Settings, generate, next_day
    from bench.ingest_bench import plain_copy_seconds
    from ingest.api_pipeline import run_api_ingest
    from ingest.files_pipeline import run_files_ingest
    from publishing.delta_export import ExportConfig, export_marts

    results: dict[str, Any] = {"scale": args.scale, "days": args.days}
    quiet = lambda *_: None  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="bankwh-bench-") as tmp, scratch_database() as wh:
        work = Path(tmp)
        raw = work / "data" / "raw"
        _timed(results, "generate_s", lambda: generate(Settings(args.scale, args.days, args.seed), raw, log=quiet))

        summary = _timed(
            results, "ingest_files_s", lambda: run_files_ingest(wh, raw, work / "pipelines", progress=False, log=quiet)
        )
        if summary.errors:
            raise RuntimeError(f"ingest reported errors: {summary.errors}")
        rows = sum(f.rows for f in summary.loaded)
        txn_rows = sum(f.rows for f in summary.loaded if f.file_name.startswith("transactions/"))
        results["ingest_rows"] = rows
        results["ingest_rows_per_s"] = round(rows / results["ingest_files_s"])
        txn_files = sorted((raw / "transactions").glob("*.csv"))
        copy_s = plain_copy_seconds(wh, txn_files)
        results["transactions_rows"] = txn_rows
        results["plain_copy_transactions_s"] = round(copy_s, 2)

        server, thread = start_server(work / "data", quiet=True)
        try:
            _timed(results, "ingest_api_s", lambda: run_api_ingest(wh, server.url, None, work / "pipelines", log=quiet))
        finally:
            stop_server(server, thread)

        _timed(results, "dbt_full_build_s", _dbt_build)

        _timed(results, "next_day_generate_s", lambda: next_day(raw, log=quiet))
        _timed(
            results,
            "next_day_ingest_s",
            lambda: run_files_ingest(wh, raw, work / "pipelines", progress=False, log=quiet),
        )
        _timed(results, "dbt_incremental_build_s", _dbt_build)

        config = ExportConfig(root=work / "delta", schema=DEV_SCHEMA)  # where plain `dbt build` writes the marts
        exported = _timed(results, "delta_export_s", lambda: export_marts(wh, config=config, log=quiet))
        exported_rows = sum(r.rows for r in exported)
        marts = [r.mart for r in exported]
        results["delta_export_rows"] = exported_rows
        results["delta_export_rows_per_s"] = round(exported_rows / results["delta_export_s"])
        copy_out_s, copy_bytes = _copy_out_seconds(wh, marts)
        results["plain_copy_to_s"] = round(copy_out_s, 2)
        results["plain_copy_to_megabytes"] = round(copy_bytes / 1e6, 1)
        with wh.cursor() as cur:
            cur.execute("select count(*) from marts.fact_transactions")
            results["fact_transactions_rows"] = cur.fetchone()[0]
    return results
