"""`python -m bench.run --what generate|all`: run benchmarks and merge their results into .bench/results.json.

BENCHMARKS is the registry: name -> "module:function"; each function takes the parsed arguments and returns a
JSON-able dict. Modules are imported only when their benchmark runs, so one area's heavy imports never slow
another's benchmark.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import sys
import time
from pathlib import Path

BENCHMARKS: dict[str, str] = {
    "generate": "bench.generate:bench_generate",
    "ingest": "bench.ingest_bench:bench_ingest_at_scale",
    "warehouse": "bench.warehouse_bench:bench_warehouse",
}
RESULTS = Path(".bench/results.json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--what", default="all", help=f"benchmark name or 'all' ({', '.join(BENCHMARKS)})")
    parser.add_argument("--scale", type=float, default=1.0, help="demo bank scale (default 1)")
    parser.add_argument("--days", type=int, default=365, help="days to generate (default 365)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    return parser


def run_one(name: str, args: argparse.Namespace) -> dict[str, object]:
    module, func = BENCHMARKS[name].split(":")
    print(f"benchmark {name} ...", flush=True)
    started = time.perf_counter()
    result = getattr(importlib.import_module(module), func)(args)
    result = {**result, "wall_seconds": round(time.perf_counter() - started, 2),
              "measured_at": dt.datetime.now().isoformat(timespec="seconds")}  # fmt: skip
    print(f"benchmark {name}: {json.dumps(result)}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = list(BENCHMARKS) if args.what == "all" else args.what.split(",")
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    for name in names:
        results[name] = run_one(name, args)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(json.dumps({n: results[n] for n in names}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
