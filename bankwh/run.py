"""`bankwh run`: the nightly flow once, in this process (with --demo: on the simulated bank, its API served here)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bankwh.one_writer import add_wait_option
from warehouse.project import project_path


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
    run.add_argument("--demo", action="store_true", help="generate the demo bank into --data-dir if missing; the "
                     "night serves its bank API for the api source (unless --api-url)")  # fmt: skip
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
    run.add_argument("--data-dir", type=Path, default=None, help="landing files folder (default: data/raw)")
    run.add_argument("--delta-root", type=Path, default=None, help="Delta tables folder (default: data/delta)")
    run.add_argument("--api-url", help="bank API base URL (default $BANKWH_API_URL; --demo serves one)")
    add_wait_option(run)
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit of the whole run, waiting for "
                     "another run included (default $BANKWH_RUN_TIMEOUT_S, else 12 h)")  # fmt: skip
    run.add_argument("--dbt-timeout", type=float, metavar="SECONDS",
                     help="time limit of the dbt build (default $BANKWH_DBT_TIMEOUT_S, else 4 h)")  # fmt: skip
    run.set_defaults(func=_run)


def _parse_sources(text: str) -> list[str] | None:
    """The sources named on the command line; None for `all` (the flow's default set)."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    return None if "all" in names else names


def _prepare_demo(args: argparse.Namespace) -> None:
    """Generate the demo bank when the folder has none; with --next-day append the next day to it."""
    from bankwh import cli

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

    from orchestration import prefect_local

    started = time.perf_counter()
    prefect_local.quiet_defaults()
    if args.next_day and not args.demo:
        raise ValueError("--next-day needs --demo (it appends a day to the demo bank)")
    for name, value in (("--timeout", args.timeout), ("--dbt-timeout", args.dbt_timeout)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value:g}")
    sources = _parse_sources(args.sources)
    args.data_dir = args.data_dir or project_path("data", "raw")
    args.delta_root = args.delta_root or project_path("data", "delta")
    if args.demo:
        _prepare_demo(args)
    log_file = project_path("logs", "bankwh-run.log")
    with prefect_local.project_api(log=lambda line: print(line, flush=True)), quiet_console(log_file):
        from orchestration.flows import nightly

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
            api_url=args.api_url,
            delta_root=str(args.delta_root),
            wait_for_lock=not args.no_wait,
            demo=args.demo,  # the flow serves the demo bank's API itself when no --api-url is given
            return_state=True,
        )
    from orchestration.summary import format_summary

    summary = state.result()  # re-raises the flow's failure (blocked gate, failed ingest) for a clear message
    if not summary.get("logged"):  # the flow logs its summary; print it when the run log did not show it
        print(format_summary(summary))
    print(f"bankwh run: {summary['status']} in {time.perf_counter() - started:.1f} s (every line in {log_file})")
    return 0


#: Prefect's own lines that say nothing a reader of the console needs: a step that finished as expected.
ROUTINE = ("Finished in state Completed(", "Created task run", "Executing '", "Created subflow run", "Beginning ")


class _Console(logging.Filter):
    """Keeps routine lines off the console: per-node dbt lines (marked by the flow), steps that completed, and
    tracebacks, which go to the log file only (the command's last line names the cause in one line)."""

    def __init__(self, log_file: logging.Handler, logged: tuple[str, ...]) -> None:
        super().__init__()
        self.log_file, self.logged = log_file, logged

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.exc_text:
            if not record.name.startswith(self.logged):  # not copied to the log file by its own logger
                self.log_file.handle(record)
            return False
        if getattr(record, "bankwh_detail", False):
            return False
        if record.levelno > logging.INFO:
            return True
        # a task's end state: a failed one was reported by its own step (a failing dbt node by the progress lines)
        task_ended = record.name == "prefect.task_runs" and str(record.msg).startswith("Finished in state")
        return not (task_ended or str(record.msg).startswith(ROUTINE))


@contextmanager
def quiet_console(log_file: Path) -> Iterator[None]:
    """While the run lasts: the console shows progress ("N of M nodes"), warnings, failures and the summary; the
    log file gets every line of the run (each dbt node, each task's state), as the Prefect UI does.

    Why: a night is hundreds of nodes; one console line each ("Finished in state Completed()") buried the few
    lines that matter.
    """
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.logging.handlers import PrefectConsoleHandler

    ensure_logging_setup()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s %(message)s"))
    names = ("prefect.flow_runs", "prefect.task_runs", "bankwh")
    loggers = [logging.getLogger(name) for name in names]
    console = _Console(to_file, names)
    consoles = [  # Prefect's console handler sits on the root logger, where the run's records propagate
        handler
        for logger in (logging.getLogger(), *loggers)
        for handler in logger.handlers
        if isinstance(handler, PrefectConsoleHandler)
    ]
    for handler in consoles:
        handler.addFilter(console)
    for logger in loggers:
        logger.addHandler(to_file)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(to_file)
        for handler in consoles:
            handler.removeFilter(console)
        to_file.close()
