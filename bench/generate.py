"""Generation benchmark: wall time, rows and bytes of `bankwh generate` at a given scale."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bank_sim.generator import Settings, generate


def bench_generate(args: argparse.Namespace) -> dict[str, object]:
    """Generate into a scratch folder (removed afterwards) and report time, counts and sizes."""
    scratch = Path(tempfile.mkdtemp(prefix="bankwh-bench-gen-"))
    try:
        settings = Settings(scale=args.scale, days=args.days, seed=args.seed)
        result = generate(settings, scratch / "raw", log=lambda line: print(f"  {line}"))
        totals = result.manifest["totals"]
        entities = totals["entities"]
        return {
            "scale": args.scale,
            "days": args.days,
            "seconds": round(result.seconds, 2),
            "bytes": result.bytes,
            "files": sum(e["files"] for e in entities.values()),
            "clients": totals["clients"],
            "accounts": totals["accounts"],
            "transactions": entities["transactions"]["rows_valid"],
            "rows_total": sum(e["rows_valid"] for e in entities.values()),
            "transactions_per_second": round(entities["transactions"]["rows_valid"] / result.seconds),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
