"""`bankwh generate`: write the demo bank's landing files (docs/source_contract.md) and the API backing data."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate the simulated bank's CSV landing files (and the API's FX rates)",
        description=(
            "Write a deterministic demo bank into --out: entity change extracts, one transactions file per day, "
            "balances, postings, loans, fraud labels and surveys, with defects injected at --defect-rate, plus "
            "manifest.json (the ground truth of every file) and <out>/../api/fx_rates.csv. The same seed gives "
            "byte-identical files. --next-day appends one more day to an existing --out instead."
        ),
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=0.1,
        help="1 = about 10,000 clients, 15,000 accounts, 1,000,000 transactions a year (default 0.1)",
    )
    parser.add_argument("--days", type=int, default=365, help="number of days from --start (default 365)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--start", default="2025-01-01", help="first business date YYYY-MM-DD (default 2025-01-01)")
    parser.add_argument("--out", type=Path, default=Path("data/raw"), help="landing folder (default data/raw)")
    parser.add_argument(
        "--defect-rate", type=float, default=0.01, help="share of rows that get a defect (default 0.01)"
    )
    parser.add_argument("--next-day", action="store_true",
                        help="append the day after the last generated one to --out (other options are ignored; "
                        "the settings come from its manifest)")  # fmt: skip
    parser.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> int:
    from .generator import Settings, generate, next_day

    if args.next_day:
        next_day(args.out)
        return 0
    settings = Settings(scale=args.scale, days=args.days, seed=args.seed, start=args.start,
                        defect_rate=args.defect_rate)  # fmt: skip
    generate(settings, args.out)
    return 0
