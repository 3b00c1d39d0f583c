"""`bankwh run`, `bankwh serve`, `bankwh export`: run the nightly flow once, on its schedule, or export only."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from . import PROJECT_ROOT

PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"
DEFAULT_DELTA_ROOT = PROJECT_ROOT / "data" / "delta"


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the nightly flow once (ingest, dbt build, Delta export)",
        description=(
            "Run the nightly Prefect flow once, in this process: ingest the sources, `dbt build` tonight's marts "
            "into the candidate schema, and when every error-severity test passed export them to Delta Lake and "
            "publish them (the views of schema `marts` switch to tonight in one transaction). A failing night "
            "changes nothing readers see and exits 1 naming the failing tests. A run that finds another nightly "
            "run in progress waits for it (or, with --no-wait, is refused)."
        ),
    )
    run.add_argument("--demo", action="store_true", help="generate the demo bank into --data-dir if missing and "
                     "serve the bank API locally for the api source")  # fmt: skip
    run.add_argument("--scale", type=float, default=0.1, help="demo bank scale for --demo (default 0.1)")
    run.add_argument("--next-day", action="store_true", help="with --demo: append the next business day to the "
                     "existing demo bank before the run (the next night's delivery)")  # fmt: skip
    run.add_argument("--full-refresh", action="store_true", help="dbt --full-refresh and a full Delta rewrite")
    run.add_argument("--select", help='dbt node selection, e.g. "marts+" (default: everything)')
    run.add_argument(
        "--source",
        "--sources",
        dest="sources",
        default="all",
        help="comma-separated sources to ingest: files, api, berka, or all (default: files and api, plus berka "
        "when its folder exists); '' for none",
    )
    run.add_argument("--no-dbt", action="store_true", help="skip dbt build: re-export the published marts to Delta")
    run.add_argument("--no-export", action="store_true", help="build and test tonight's marts without publishing "
                     "them (no Delta export, readers keep the previous night)")  # fmt: skip
    run.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "data" / "raw", help="landing files folder")
    run.add_argument("--delta-root", type=Path, default=DEFAULT_DELTA_ROOT, help="Delta tables folder")
    run.add_argument("--api-url", help="bank API base URL (default $BANKWH_API_URL; --demo serves one)")
    run.add_argument("--no-wait", action="store_true", help="refuse instead of waiting when a run is in progress")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit of the whole run, waiting for "
                     "another run included (default $BANKWH_RUN_TIMEOUT_S, else 12 h)")  # fmt: skip
    run.add_argument("--dbt-timeout", type=float, metavar="SECONDS",
                     help="time limit of the dbt build (default $BANKWH_DBT_TIMEOUT_S, else 4 h)")  # fmt: skip
    run.set_defaults(func=_run)

    serve = subparsers.add_parser(
        "serve",
        help="serve the nightly flow on its schedule (no Prefect server needed)",
        description=(
            "Serve the nightly flow on this machine with the schedule of the `nightly` deployment in prefect.yaml "
            "(cron 0 2 * * *, Europe/Paris unless overridden). Runs until interrupted; at most one run at a time. "
            "Without PREFECT_API_URL a local Prefect server (state under .warehouse/prefect, UI on --port) is "
            "started beside it, because schedules need a server's scheduler."
        ),
    )
    serve.add_argument("--cron", help="override the cron expression of prefect.yaml")
    serve.add_argument("--timezone", help="override the schedule's time zone (IANA name, e.g. Europe/Paris)")
    serve.add_argument("--config", type=Path, default=PREFECT_YAML, help="prefect.yaml to read")
    serve.add_argument(
        "--port",
        type=int,
        default=4200,
        help="port of the local Prefect server started when PREFECT_API_URL is not set (default 4200)",
    )
    serve.set_defaults(func=_serve)

    status = subparsers.add_parser(
        "status",
        help="which night readers see: the published run in PostgreSQL and in Delta Lake",
        description=(
            "Print the night the marts show (monitoring.published_runs: run id, dbt invocation, dlt loads, Delta "
            "version per mart) and check that the Delta tables agree (their _published_runs record and versions). "
            "Exit 1 when nothing is published yet or the two stores disagree."
        ),
    )
    status.add_argument("--delta-root", type=Path, default=DEFAULT_DELTA_ROOT, help="Delta tables folder")
    status.set_defaults(func=_status)

    export = subparsers.add_parser(
        "export",
        help="export the marts to Delta Lake (incremental) and check parity",
        description=(
            "Export every mart of schema `marts` (or --marts) to <root>/<mart> as Delta tables: facts partitioned "
            "by month and rewritten only where the month changed, other tables replaced when they changed. Each "
            "table is read back and compared with PostgreSQL (rows, sums); results go to <root>/_parity.jsonl."
        ),
    )
    export.add_argument("--marts", nargs="+", help="marts to export (default every mart)")
    export.add_argument("--full", action="store_true", help="rewrite every table whole")
    export.add_argument("--root", type=Path, default=DEFAULT_DELTA_ROOT, help="Delta tables folder (data/delta)")
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


def load_deployment(path: Path = PREFECT_YAML, name: str = "nightly") -> dict[str, Any]:
    """The deployment `name` of prefect.yaml, as a dict."""
    import yaml

    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for deployment in config.get("deployments") or []:
        if deployment.get("name") == name:
            return deployment
    raise ValueError(f"{path} has no deployment named {name!r}")


def schedule_of(deployment: dict[str, Any], cron: str | None = None, timezone: str | None = None):
    """The Prefect Cron schedule of a deployment (first cron schedule), with optional overrides."""
    from prefect.schedules import Cron

    crons = [s for s in deployment.get("schedules") or [] if s.get("cron")]
    if not crons and not cron:
        raise ValueError(f"deployment {deployment.get('name')} has no cron schedule")
    base = crons[0] if crons else {}
    return Cron(cron or base["cron"], timezone=timezone or base.get("timezone") or "UTC")


def _parse_sources(text: str) -> list[str] | None:
    """The sources named on the command line; None for `all` (the flow's default set)."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    return None if "all" in names else names


def _prepare_demo(args: argparse.Namespace) -> None:
    """Generate the demo bank when the folder has none; with --next-day append the next day to it."""
    from . import cli

    manifest = args.data_dir / "manifest.json"
    if not manifest.exists():
        print(f"generating the demo bank (scale {args.scale}) into {args.data_dir} ...", flush=True)
        if cli.main(["generate", "--scale", str(args.scale), "--out", str(args.data_dir)]) != 0:
            raise RuntimeError("generating the demo bank failed")
    elif args.next_day:
        print(f"appending the next day to the demo bank in {args.data_dir} ...", flush=True)
        if cli.main(["generate", "--next-day", "--out", str(args.data_dir)]) != 0:
            raise RuntimeError("appending the next day to the demo bank failed")
    else:
        print(f"demo bank present in {args.data_dir} (new files only are loaded; --next-day adds a day)")


def _run(args: argparse.Namespace) -> int:
    import time

    from . import prefect_local

    started = time.perf_counter()
    prefect_local.quiet_defaults()
    if args.next_day and not args.demo:
        raise ValueError("--next-day needs --demo (it appends a day to the demo bank)")
    for name, value in (("--timeout", args.timeout), ("--dbt-timeout", args.dbt_timeout)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value:g}")
    sources = _parse_sources(args.sources)
    api_server = None
    api_url = args.api_url
    try:
        if args.demo:
            _prepare_demo(args)
            if (sources is None or "api" in sources) and not api_url:
                from bank_sim.api.server import start_server

                if args.data_dir.name != "raw":
                    raise ValueError(
                        f"--demo serves the bank API from the folder above --data-dir, which must be named raw "
                        f"(got {args.data_dir}); or start `bankwh api serve` and pass --api-url"
                    )
                # the API serves <root>/raw/surveys and <root>/api/fx_rates.csv: the generator's layout
                api_server = start_server(args.data_dir.parent)
                api_url = api_server[0].url
                print(f"bank API serving {args.data_dir.parent} at {api_url}", flush=True)
        prefect_local.start(log=lambda line: print(line, flush=True))
        from .flows import format_summary, nightly

        flow = nightly.with_options(timeout_seconds=args.timeout) if args.timeout else nightly
        limits = {"dbt_timeout_s": args.dbt_timeout} if args.dbt_timeout else {}
        state = flow(
            **limits,
            sources=sources,
            full_refresh=args.full_refresh,
            select=args.select,
            run_dbt=not args.no_dbt,
            export=not args.no_export,
            data_dir=str(args.data_dir),
            api_url=api_url,
            delta_root=str(args.delta_root),
            wait_for_lock=not args.no_wait,
            return_state=True,
        )
    finally:
        if api_server is not None:
            from bank_sim.api.server import stop_server

            stop_server(*api_server)
        # in order, before the interpreter exits: the run's events and logs, then the temporary server
        prefect_local.stop()
    summary = state.result()  # re-raises the flow's failure (blocked gate, failed ingest) for a clear message
    if not summary.get("logged"):  # the flow logs its summary; print it when the run log did not show it
        print(format_summary(summary))
    print(f"bankwh run: {summary['status']} in {time.perf_counter() - started:.1f} s")
    return 0


@contextmanager
def local_prefect_server(port: int) -> Iterator[str]:
    """A Prefect server on 127.0.0.1:`port` for as long as the block runs (its scheduler creates the runs)."""
    import subprocess
    import time
    import urllib.request

    home = PROJECT_ROOT / ".warehouse" / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/api"
    log_path = home / "server.log"
    env = dict(os.environ, PREFECT_HOME=str(home))
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the local Prefect server did not start on port {port}; see {log_path}"
                    ) from None
                time.sleep(1)
        print(f"local Prefect server at {url} (UI http://127.0.0.1:{port}, log {log_path})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _serve(args: argparse.Namespace) -> int:
    deployment = load_deployment(args.config)
    schedule = schedule_of(deployment, args.cron, args.timezone)
    with ExitStack() as stack:
        if not os.environ.get("PREFECT_API_URL"):
            from prefect.settings import PREFECT_API_URL, temporary_settings

            url = stack.enter_context(local_prefect_server(args.port))
            stack.enter_context(temporary_settings({PREFECT_API_URL: url}))
        from .flows import nightly

        print(f"serving nightly on cron {schedule.cron!r} ({schedule.timezone}); Ctrl-C stops")
        nightly.serve(
            name=deployment["name"],
            schedules=[schedule],
            parameters=deployment.get("parameters") or {},
            tags=deployment.get("tags") or [],
            description=deployment.get("description"),
            limit=1,
        )
    return 0


def _status(args: argparse.Namespace) -> int:
    from . import publish, warehouse

    wh = warehouse.resolve(start=True, log=lambda *_: None)
    with wh.cursor() as cur:
        record = publish.last_published(cur)
    if record is None:
        print(f"nothing published yet in {wh.database} (the first night that passes its gates publishes)")
        return 1
    print(record.describe())
    problems = publish.disagreements(args.delta_root, record)
    for problem in problems:
        print(f"MISMATCH {problem}")
    if not problems:
        print(f"Delta Lake at {args.delta_root} shows the same night")
    return 1 if problems else 0


def _export(args: argparse.Namespace) -> int:
    from . import warehouse
    from .delta_export import ExportConfig, ExportError, export_marts, summary_table

    overrides = {}
    for item in args.partition_column:
        fact, sep, column = item.partition("=")
        if not sep or not fact or not column:
            raise ValueError(f"--partition-column expects FACT=COLUMN, got {item!r}")
        overrides[fact] = column
    config = ExportConfig(
        root=args.root,
        retention_hours=args.retention_hours,
        compact_min_files=args.compact_min_files,
        allow_schema_overwrite=args.allow_schema_overwrite,
        partition_columns=overrides,
    )
    wh = warehouse.resolve(start=True)
    try:
        results = export_marts(wh, marts=args.marts, config=config, full=args.full)
    except ExportError as exc:
        if exc.results:
            print(summary_table(exc.results))
        raise
    print(summary_table(results))
    print(f"parity recorded in {config.root / '_parity.jsonl'}")
    return 0 if all(r.parity_ok for r in results) else 1
