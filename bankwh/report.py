"""`bankwh report`: the static HTML quality report of the last nights, one file that opens without internet."""

from __future__ import annotations

import argparse
from pathlib import Path

#: Nights the report covers unless --nights says otherwise.
DEFAULT_NIGHTS = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="write the quality report: one static HTML file with the charts of the last nights",
        description=(
            "Write one static HTML file (charts drawn by plotly.js, embedded: it opens without internet) from the "
            "history in schema `monitoring`: dbt test results per night, daily transaction volumes with their "
            "anomalies, rejected rows by reason and by file, source freshness, reconciliation (unexplained "
            "difference per night and table) and the Delta versions published per mart. A chart with nothing "
            "recorded yet says so. The nightly flow writes the same report after every run."
        ),
    )
    report.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="PATH",
        help="the HTML file to write (default: data/reports/quality-report.html in the project directory)",
    )
    report.add_argument(
        "--nights",
        type=int,
        default=DEFAULT_NIGHTS,
        metavar="N",
        help=f"how many of the most recent nights to chart (default {DEFAULT_NIGHTS})",
    )
    report.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    import warehouse
    from monitoring import report
    from warehouse.project import project_path

    if args.nights < 1:
        raise ValueError(f"--nights must be a positive number of nights, got {args.nights}")
    output = args.output or project_path(*report.DEFAULT_PATH)
    wh = warehouse.resolve(start=True, log=lambda *_: None)
    conn = wh.connect()
    try:
        written = report.write_report(conn, output, nights=args.nights, database=wh.database)
    finally:
        conn.close()
    print(f"quality report of {written.nights} night(s) in {wh.database} written to {written.path}")
    if written.nights == 0:
        print("no nights recorded yet: each chart says so until the first nightly run (bankwh run)")
    return 0
