"""`bankwh ingest`: load the landing files, the bank API and/or the Czech bank's files into the raw layer, then
print what was loaded."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bankwh.one_writer import add_wait_option, one_writer
from ingest.summary import FileResult, IngestSummary
from warehouse.project import project_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="load the landing files, the bank API and the Czech bank (Berka) files into the raw schemas with dlt",
        description=(
            "Load every new landing file (data/raw/<entity>/YYYY-MM-DD.csv) into raw_core_banking, the PKDD'99 "
            "Czech bank's .asc files into raw_berka (--source berka), and/or what is new from the bank API into "
            "raw_bank_api. Both kinds of file go through one loader: a file is loaded once per content (name + "
            "sha256, recorded in <schema>._file_loads); a file delivered again with another content replaces the "
            "old one; broken lines go to <schema>._quarantine with file, line and reason, and a file that cannot "
            "be loaded at all is quarantined whole with the reason while the others load. Every file is counted "
            "(lines in = rows + quarantined). Exit status 1 when a file's lines did not add up. The ingest holds "
            "the nightly run's lock: while the night or another writing command runs, it waits (or, with "
            "--no-wait, is refused)."
        ),
        epilog="The table at the end lists each file read: lines, rows, quarantined lines and the seconds spent "
        "reading it; the total line has the wall time of the whole run. Files quarantined whole follow, each "
        "with its reason.",
    )
    parser.add_argument(
        "--source",
        choices=("files", "api", "berka", "all"),
        default="files",
        help="what to load: the landing files (default), the bank API, the Czech bank's files (berka), or all",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="landing folder with one sub-folder per entity (default: data/raw)",
    )
    parser.add_argument(
        "--encoding",
        action="append",
        default=[],
        metavar="NAME=CODEC",
        help="read a file (transactions/2025-01-03.csv), an entity folder (transactions) or every file (*) with "
        "this codec instead of detecting it; repeatable",
    )
    parser.add_argument("--pipelines-dir", type=Path, default=None, help="dlt working folder (default: .dlt/pipelines)")
    parser.add_argument("--api-url", default=None, help="bank API base URL (default: BANKWH_API_URL or local server)")
    parser.add_argument("--token", default=None, help="bank API token (default: BANKWH_API_TOKEN or demo-token)")
    parser.add_argument(
        "--berka-dir",
        type=Path,
        default=None,
        help="folder holding account.asc … trans.asc, plain or .gz (default: $BANKWH_BERKA_DIR, else the copy "
        "shipped in data_sets/berka)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary table")
    add_wait_option(parser)
    parser.set_defaults(func=_ingest)


def parse_overrides(values: list[str]) -> dict[str, str]:
    overrides = {}
    for value in values:
        name, sep, codec = value.partition("=")
        if not sep or not name or not codec:
            raise ValueError(f"--encoding {value!r}: expected NAME=CODEC, e.g. transactions=latin-1")
        overrides[name.strip()] = codec.strip()
    return overrides


def _api_summary(wh, args: argparse.Namespace, log) -> IngestSummary:
    from ingest.api_pipeline import run_api_ingest

    started = time.perf_counter()
    result = run_api_ingest(wh, args.api_url, args.token, args.pipelines_dir, log=log)
    summary = IngestSummary(source="api", load_id=result.get("load_id"), seconds=time.perf_counter() - started)
    for table, rows in result.get("rows", {}).items():
        summary.files.append(FileResult(f"api:{table}", table, "loaded", rows, rows, 0, seconds=result["seconds"]))
    return summary


def print_summary(summary: IngestSummary) -> None:
    statuses = ("loaded", "replaced", "quarantined", "unchanged")
    counts = ", ".join(f"{len(summary.with_status(status))} {status}" for status in statuses)
    print(f"\n{summary.source}: {counts}")
    print(summary.table())
    for note in summary.notes:
        print(f"note: {note}")
    for change in summary.schema_changes:
        print(f"schema change: {change}")
    for quarantined in summary.quarantined_files:
        print(f"quarantined whole: {quarantined}")
    for error in summary.errors:
        print(f"error: {error}")


def _ingest(args: argparse.Namespace) -> int:
    import warehouse

    wh = warehouse.resolve()
    with one_writer(wh, args, "ingest"):
        summaries = _ingest_sources(wh, args)
    return 1 if any(summary.errors for summary in summaries) else 0


def _ingest_sources(wh, args: argparse.Namespace) -> list[IngestSummary]:
    """Each source asked for, in turn, its table printed as soon as it is done."""
    from ingest.files_pipeline import run_files_ingest

    log = (lambda _msg: None) if args.quiet else print
    summaries: list[IngestSummary] = []
    if args.source in ("files", "all"):
        summaries.append(
            run_files_ingest(
                wh,
                args.data or project_path("data", "raw"),
                pipelines_dir=args.pipelines_dir,
                progress=not args.quiet,
                encoding_overrides=parse_overrides(args.encoding),
                log=log,
            )
        )
        print_summary(summaries[-1])  # before the API is called, so a failing API never hides it
    if args.source in ("api", "all"):
        summaries.append(_api_summary(wh, args, log))
        print_summary(summaries[-1])
    if args.source in ("berka", "all"):
        from ingest.berka_pipeline import run_berka_ingest

        summaries.append(
            run_berka_ingest(wh, args.berka_dir, pipelines_dir=args.pipelines_dir, progress=not args.quiet, log=log)
        )
        print_summary(summaries[-1])
    return summaries
