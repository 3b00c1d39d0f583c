"""`bankwh export` and `bankwh status`: the marts in Delta Lake, and the night both stores show."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bankwh.one_writer import add_wait_option, one_writer
from publishing.publish import PUBLISHED_SCHEMA
from warehouse.project import project_path


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser(
        "status",
        help="which night readers see: the published run in PostgreSQL and in Delta Lake",
        description=(
            "Print the night the marts show (monitoring.published_runs: run id, dbt invocation, dlt loads, Delta "
            "version per mart) and check that the Delta tables agree (their _published_runs record and versions). "
            "Exit 1 when nothing is published yet or the two stores disagree."
        ),
    )
    status.add_argument("--delta-root", type=Path, default=None, help="Delta tables folder (default: data/delta)")
    status.set_defaults(func=_status)

    export = subparsers.add_parser(
        "export",
        help="export the marts to Delta Lake (incremental) and check parity",
        description=(
            "Export every mart of schema `marts` (or --marts) to <root>/<mart> as Delta tables: facts partitioned "
            "by month and rewritten only where the month changed, other tables replaced when they changed. Each "
            "table is read back and compared with PostgreSQL (rows, sums); results go to <root>/_parity.jsonl. "
            "Only the published night (schema `marts`, which shows the last night that passed every gate) is "
            "exported unless --force names another schema. The export holds the nightly run's lock: while the "
            "night or another writing command runs, it waits (or, with --no-wait, is refused)."
        ),
    )
    export.add_argument(
        "--schema",
        default=PUBLISHED_SCHEMA,
        help="schema to export (default: marts, the published night); any other schema, such as the candidate of "
        "a night that failed its gate, needs --force",
    )
    export.add_argument(
        "--force",
        action="store_true",
        help="export a schema other than the published night, whose marts may not have passed the gate (logged)",
    )
    add_wait_option(export)
    export.add_argument("--marts", nargs="+", help="marts to export (default every mart)")
    export.add_argument("--full", action="store_true", help="rewrite every table whole")
    export.add_argument("--root", type=Path, default=None, help="Delta tables folder (default: data/delta)")
    export.add_argument("--retention-hours", type=int, default=168, help="vacuum files older than this (168)")
    export.add_argument(
        "--compact-min-files", type=int, default=16, help="compact a partition with this many files (16)"
    )
    export.add_argument(
        "--allow-schema-overwrite",
        action="store_true",
        help="replace a Delta table's schema when a mart dropped or retyped columns (default: fail)",
    )
    export.add_argument(
        "--partition-column",
        action="append",
        default=[],
        metavar="FACT=COLUMN",
        help="date column a fact's month partition comes from (default: chosen automatically)",
    )
    export.set_defaults(func=_export)


def _status(args: argparse.Namespace) -> int:
    import warehouse
    from publishing import publish

    root = args.delta_root or project_path("data", "delta")
    wh = warehouse.resolve(start=True, log=lambda *_: None)
    with wh.cursor() as cur:
        record = publish.last_published(cur)
    if record is None:
        print(f"nothing published yet in {wh.database} (the first night that passes its gates publishes)")
        return 1
    print(record.describe())
    problems = publish.disagreements(root, record)
    for problem in problems:
        print(f"MISMATCH {problem}")
    if not problems:
        print(f"Delta Lake at {root} shows the same night")
    return 1 if problems else 0


def check_schema(schema: str, force: bool) -> None:
    """Refuse to export anything but the published night unless forced; a forced export says so on stderr.

    Why: only the views of `marts` are guaranteed to show a night whose every error-severity test passed (the
    publish gate); a candidate schema may hold the marts of a night that failed it, and exporting those would put
    unchecked numbers in Delta Lake beside the published ones.
    """
    if schema == PUBLISHED_SCHEMA:
        return
    if not force:
        raise ValueError(
            f"schema {schema} is not the published night (schema {PUBLISHED_SCHEMA}): its marts may not have "
            "passed the publish gate; add --force to export it anyway"
        )
    print(
        f"WARNING: --force: exporting schema {schema}, not the published night (schema {PUBLISHED_SCHEMA}); its "
        "marts may not have passed the publish gate",
        file=sys.stderr,
        flush=True,
    )


def _export(args: argparse.Namespace) -> int:
    import warehouse
    from publishing.delta_export import ExportConfig, ExportError, export_marts, summary_table

    check_schema(args.schema, args.force)
    overrides = {}
    for item in args.partition_column:
        fact, sep, column = item.partition("=")
        if not sep or not fact or not column:
            raise ValueError(f"--partition-column expects FACT=COLUMN, got {item!r}")
        overrides[fact] = column
    config = ExportConfig(
        root=args.root or project_path("data", "delta"),
        retention_hours=args.retention_hours,
        compact_min_files=args.compact_min_files,
        allow_schema_overwrite=args.allow_schema_overwrite,
        partition_columns=overrides,
        schema=args.schema,
    )
    wh = warehouse.resolve(start=True)
    try:
        with one_writer(wh, args, "export"):
            results = export_marts(wh, marts=args.marts, config=config, full=args.full)
    except ExportError as exc:
        if exc.results:
            print(summary_table(exc.results))
        raise
    print(summary_table(results))
    print(f"parity recorded in {config.root / '_parity.jsonl'}")
    return 0 if all(r.parity_ok for r in results) else 1
