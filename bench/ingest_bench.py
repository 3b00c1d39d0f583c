"""Ingest benchmark: rows/s of the transactions landing files through dlt, next to a plain COPY of the same bytes.

The plain COPY is the floor: it moves each file's lines into a one-column text table with no parsing, no
quarantine and no bookkeeping, so the ratio says what line judging, Arrow conversion, dlt and the ledger cost.
Both run in the same process against the same server, in a scratch database created and dropped here.

Run: `python -m bench.run --what ingest --scale 1` (generates the demo bank first; registered in bench/run.py),
`python -m bench.ingest_bench --data data/raw` (existing landing files) or `--rows 500000 --files 5` (synthetic
transactions files written to a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from pathlib import Path

from ingest.contract import ENTITIES

COLUMNS = ENTITIES["transactions"].columns


def write_synthetic(data_dir: Path, rows: int, files: int, seed: int = 7) -> list[Path]:
    """Transactions files in contract form (with a few broken lines), `rows` data lines in total."""
    rng = random.Random(seed)
    merchants = ["Carrefour", "Boulangerie Dupont", "Café de Flore", '"Shop, Inc"', "Amazon EU", "SNCF"]
    folder = data_dir / "transactions"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    per_file = rows // files
    for f in range(files):
        day = f"2025-01-{f + 1:02d}"
        lines = [",".join(COLUMNS)]
        for i in range(per_file):
            if i % 1000 == 999:
                lines.append("broken,line")
                continue
            amount = f"{-rng.randint(100, 99999) / 100:.2f}"
            booked = f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"
            lines.append(
                f"T{f:02d}{i:08d},A{rng.randint(0, 9999):06d},{booked},"
                f"{day},{amount},EUR,card_pos,5411,{rng.choice(merchants)},,card payment"
            )
        path = folder / f"{day}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def plain_copy_seconds(wh, paths: list[Path]) -> float:
    """COPY every file's lines (header skipped) into a bare one-column text table (logged, like the raw
    tables); seconds for all files."""
    with wh.cursor() as cur:
        cur.execute("drop table if exists public.bench_plain_copy")
        cur.execute("create table public.bench_plain_copy (line text)")
    conn = wh.connect()
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            for path in paths:
                with path.open("rb") as f:
                    cur.copy_expert(
                        "copy public.bench_plain_copy (line) from stdin with "
                        "(format csv, header true, delimiter e'\\x01', quote e'\\x02', encoding 'latin1')",
                        f,
                    )
        conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def bench_ingest(wh, data_dir: Path, work_dir: Path) -> dict:
    """Ingest the transactions files of `data_dir` with the warehouse loader and with plain COPY; timings."""
    from ingest.files_pipeline import run_files_ingest

    source = data_dir / "transactions"
    paths = sorted(source.glob("*.csv"))
    if not paths:
        raise FileNotFoundError(f"no transactions files under {source}")
    only_txn = work_dir / "landing"
    (only_txn / "transactions").mkdir(parents=True, exist_ok=True)
    for path in paths:
        (only_txn / "transactions" / path.name).symlink_to(path.resolve())
    size = sum(p.stat().st_size for p in paths)

    started = time.perf_counter()
    summary = run_files_ingest(wh, only_txn, pipelines_dir=work_dir / "pipelines", progress=False)
    ingest_s = time.perf_counter() - started
    rows = sum(f.rows for f in summary.loaded)
    quarantined = sum(f.quarantined for f in summary.loaded)
    copy_s = plain_copy_seconds(wh, paths)
    lines = rows + quarantined
    return {
        "files": len(paths),
        "megabytes": round(size / 1e6, 1),
        "lines": lines,
        "rows": rows,
        "quarantined": quarantined,
        "ingest_seconds": round(ingest_s, 2),
        "ingest_rows_per_s": round(rows / ingest_s),
        "plain_copy_seconds": round(copy_s, 2),
        "plain_copy_lines_per_s": round(lines / copy_s),
        "ingest_vs_copy": round(ingest_s / copy_s, 1),
        "errors": summary.errors,
    }


def run_in_scratch_db(data_dir: Path | None, rows: int, files: int) -> dict:
    """Create a scratch database, benchmark, drop it."""
    import warehouse

    server = warehouse.resolve(log=lambda *_: None).with_database("postgres")
    name = f"bankwh_bench_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="bankwh-ingest-bench-") as tmp:
            work = Path(tmp)
            if data_dir is None:
                data_dir = work / "synthetic"
                write_synthetic(data_dir, rows, files)
            return bench_ingest(server.with_database(name), data_dir, work)
    finally:
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


def bench_ingest_at_scale(args: argparse.Namespace) -> dict:
    """Registry entry of `python -m bench.run`: generate the demo bank at --scale/--days/--seed into a scratch
    folder, then ingest its transactions files and COPY the same files, in a scratch database."""
    from bank_sim.generator import Settings, generate

    with tempfile.TemporaryDirectory(prefix="bankwh-bench-ingest-") as tmp:
        data_dir = Path(tmp) / "raw"
        generate(Settings(scale=args.scale, days=args.days, seed=args.seed), data_dir, log=lambda _line: None)
        return {"scale": args.scale, "days": args.days, **run_in_scratch_db(data_dir, 0, 0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="landing folder (default: synthetic files)")
    parser.add_argument("--rows", type=int, default=500_000, help="synthetic data lines in total")
    parser.add_argument("--files", type=int, default=5, help="synthetic day files")
    args = parser.parse_args(argv)
    print(json.dumps(run_in_scratch_db(args.data, args.rows, args.files), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
