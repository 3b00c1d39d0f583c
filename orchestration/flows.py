"""The `nightly` Prefect flow: ingest → dbt build → publish gate → Delta export → publish → quality report hooks.

Write–audit–publish: dbt writes tonight's marts into a candidate schema and tests them there; only a night whose
error-severity tests all passed is exported to Delta and switched on in PostgreSQL (orchestration/publish.py), so
readers of either store see a whole night that passed, or the previous one.
Why one flow with a lock around it: every step writes the same warehouse database, so two nightly runs must never
interleave (see orchestration/locking.py); a run that finds the lock taken waits (default) or is refused.
Transient steps (database connection, the bank API, landing files on a network share, the Delta export's reads)
retry with exponential backoff, only for errors that can heal by themselves. Every task has a timeout, the dbt
build (a subflow) has one, and so has the whole run (`BANKWH_RUN_TIMEOUT_S`, or `bankwh run --timeout`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.states import Failed
from prefect.tasks import exponential_backoff

from orchestration import PROJECT_ROOT, publish_gate

ALL_SOURCES = ("files", "api", "berka")
#: Per-file progress lines of the landing-file ingest: the first, every FILE_LOG_EVERY-th, the last and failures.
FILE_LOG_EVERY = 250

#: Time limits in seconds. The run's limit covers waiting for another run's lock (6 h at most by default) too.
RUN_TIMEOUT_S = float(os.environ.get("BANKWH_RUN_TIMEOUT_S", 12 * 3600))
DBT_TIMEOUT_S = float(os.environ.get("BANKWH_DBT_TIMEOUT_S", 4 * 3600))

#: Called with the run summary after the export, in order. The alerts and HTML quality report plug in here:
#: `QUALITY_REPORT_HOOKS.append(my_hook)`; a failing hook is logged and does not undo the published export.
QUALITY_REPORT_HOOKS: list[Callable[[dict[str, Any]], None]] = []


#: HTTP statuses that heal by waiting: too many requests, and the 5xx of a server restarting or overloaded.
TRANSIENT_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (dlt wraps a step's error in PipelineStepFailed, psycopg2 in dbt's)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or getattr(current, "exception", None)
    return seen


def is_transient(exc: BaseException) -> bool:
    """True for errors that can heal by waiting: a lost or refused database connection, a network error or
    timeout, an HTTP 429/5xx answer. Decided by exception type and status code, never by the message's words."""
    import psycopg2
    import requests

    for cause in _causes(exc):
        if isinstance(cause, psycopg2.OperationalError | ConnectionError | TimeoutError):
            return True
        if isinstance(cause, requests.ConnectionError | requests.Timeout):
            return True
        response = getattr(cause, "response", None)
        if isinstance(cause, requests.HTTPError) and response is not None:
            return response.status_code in TRANSIENT_HTTP_STATUSES
    return False


def _transient(task_obj, task_run, state) -> bool:
    """Prefect retry condition: retry only what `is_transient` calls transient."""
    try:
        state.result()
    except Exception as exc:  # the task's own exception, re-raised by result()
        return is_transient(exc)
    return False


def _transient_db(task_obj, task_run, state) -> bool:
    """Retry the Delta export only when the database connection failed (psycopg2.OperationalError: refused, reset,
    server restarting). A parity mismatch or a changed mart schema fails the same way every time: no retry."""
    import psycopg2

    try:
        state.result()
    except psycopg2.OperationalError:
        return True
    except Exception:  # the export's own verdict (ParityError, SchemaChangeError via ExportError) or a bug
        return False
    return False


BACKOFF = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=10),
    "retry_jitter_factor": 0.2,
}
RETRY = {**BACKOFF, "retry_condition_fn": _transient}
RETRY_DB = {**BACKOFF, "retry_condition_fn": _transient_db}


@task(name="connect-warehouse", timeout_seconds=300, **RETRY)
def connect_warehouse(database: str | None = None):
    from orchestration import warehouse

    wh = warehouse.resolve(start=True, log=get_run_logger().info)
    wh = wh.with_database(database) if database else wh
    warehouse.ensure_database(wh)
    warehouse.apply_env(wh)  # dbt's profiles.yml reads the PG* variables
    return wh


@task(name="ensure-raw-tables", timeout_seconds=300, **RETRY)
def ensure_raw_tables(wh) -> list[str]:
    """Every raw table of the contract exists before anything reads it, empty when nothing was delivered for it."""
    from ingest.raw_tables import ensure_raw_tables as ensure

    return ensure(wh, log=get_run_logger().info)


def default_sources(berka_dir: str | None = None) -> list[str]:
    """files and api always; berka when its folder holds the Czech bank's files, plain or gzip-compressed (the
    project ships them, so by default it does; a BANKWH_BERKA_DIR without them leaves the Czech bank out)."""
    from ingest.berka_pipeline import default_berka_dir
    from ingest.berka_source import holds_berka_files

    folder = Path(berka_dir) if berka_dir else default_berka_dir()
    return ["files", "api", "berka"] if holds_berka_files(folder) else ["files", "api"]


def throttled(log: Callable[[str], None], every: int = FILE_LOG_EVERY) -> Callable[[str], None]:
    """A log function that passes every message except most per-file lines (`  [i/n] name: ...`).

    Why: a year of landing files is thousands of lines; the run log keeps the first, every `every`-th, the last
    and every failed file, so progress stays visible without burying the rest of the run.
    """
    import re

    per_file = re.compile(r"^\s*\[(\d+)/(\d+)\]")

    def log_line(message: str) -> None:
        match = per_file.match(message)
        if match is None or "FAILED" in message:
            log(message)
            return
        i, n = int(match.group(1)), int(match.group(2))
        if i == 1 or i == n or i % every == 0:
            log(message)

    return log_line


@task(name="ingest-files", timeout_seconds=3600, **RETRY)
def ingest_files(wh, data_dir: str) -> dict[str, Any]:
    from ingest.files_pipeline import run_files_ingest

    summary = run_files_ingest(wh, data_dir, log=throttled(get_run_logger().info))
    if summary.errors:
        raise RuntimeError(f"{len(summary.errors)} landing file(s) failed: " + "; ".join(summary.errors))
    rows = sum(f.rows for f in summary.loaded)
    quarantined = sum(f.quarantined for f in summary.loaded)
    return {
        "files": len(summary.files),
        "files_loaded": len(summary.loaded),
        "rows": rows,
        "quarantined": quarantined,
        "notes": summary.notes,
    }


@task(name="ingest-api", timeout_seconds=1800, **RETRY)
def ingest_api(wh, base_url: str | None, token: str | None) -> dict[str, Any]:
    from ingest.api_pipeline import run_api_ingest

    return run_api_ingest(wh, base_url, token, log=get_run_logger().info)


@task(name="ingest-berka", timeout_seconds=3600, **RETRY)
def ingest_berka(wh, berka_dir: str | None) -> Any:
    from ingest.berka_pipeline import default_berka_dir, run_berka_ingest

    folder = Path(berka_dir) if berka_dir else default_berka_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"the Berka folder {folder} does not exist; set BANKWH_BERKA_DIR or pass berka_dir")
    # dlt warns once per Berka table that Arrow goes through its slower insert writer; that is known and small
    # (a filter, not a level: dlt sets its logger's level again when the pipeline starts)
    dlt_logger = logging.getLogger("dlt")

    def errors_only(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR

    dlt_logger.addFilter(errors_only)
    try:
        result = run_berka_ingest(wh, folder, log=get_run_logger().info)
    finally:
        dlt_logger.removeFilter(errors_only)
    return {
        "files_loaded": len(result.get("loaded", {})),
        "files_skipped": len(result.get("skipped", [])),
        "rows": sum(v["rows_loaded"] for v in result.get("loaded", {}).values()),
        "quarantined": sum(v["rows_quarantined"] for v in result.get("loaded", {}).values()),
    }


class DbtProgress:
    """dbt callback: one log line per failure or warning, and "N of M nodes" at every tenth of the build.

    Why a callback and not one Prefect task per node: the per-node tasks of prefect-dbt ran in daemon threads that
    were still reporting their states when the process exited, which aborted the interpreter ("FATAL: exception
    not rethrown", exit 134) after a good night, and their state round-trips made the build several times slower
    than plain `dbt build`. Each node stays visible in Prefect as an event and a row of the build's table artifact.
    """

    def __init__(self, log: Callable[[str], None], emit: Callable[[dict[str, Any]], None] | None = None):
        self.log = log
        self.emit = emit
        self.total = 0
        self.done = 0
        self.failed = 0
        self.reported_tenths = 0
        self.nodes: list[dict[str, Any]] = []
        self.invocation_id: str | None = None
        self._lock = threading.Lock()  # dbt calls back from each of its threads

    def __call__(self, event: Any) -> None:
        with self._lock:
            try:
                self._handle(event)
            except Exception as exc:  # progress reporting must never break the build
                self.log(f"dbt progress: could not read event {event.info.name}: {exc}")

    def _handle(self, event: Any) -> None:
        name = event.info.name
        if self.invocation_id is None and getattr(event.info, "invocation_id", None):
            self.invocation_id = event.info.invocation_id
        total = getattr(event.data, "total", 0)
        if total and total > self.total:
            self.total = total
        if name != "NodeFinished":
            return
        info, result = event.data.node_info, event.data.run_result
        status = (result.status or info.node_status or "").lower()
        node = {
            "node": info.unique_id,
            "type": info.resource_type,
            "status": status,
            "seconds": round(float(result.execution_time or 0.0), 2),
            "failures": int(result.num_failures or 0),
            "message": (result.message or "").splitlines()[0][:300] if result.message else "",
        }
        self.nodes.append(node)
        self.done += 1
        if status in publish_gate.BLOCKING_TEST_STATUSES | {"warn"}:
            self.failed += status != "warn"
            self.log(f"dbt {status.upper():<5} {info.unique_id}: {node['message']}")
        if self.emit is not None:
            self.emit(node)
        tenths = self.done * 10 // max(self.total, self.done)
        if tenths > self.reported_tenths:
            self.reported_tenths = tenths
            self.log(f"dbt: {self.done} of {max(self.total, self.done)} nodes done, {self.failed} failed")


def _emit_node_event(node: dict[str, Any]) -> None:
    """A Prefect event per dbt node (the UI's event feed), named like dbt.model.success or dbt.test.fail."""
    from prefect.events import emit_event

    emit_event(
        event=f"dbt.{node['type']}.{node['status']}",
        resource={"prefect.resource.id": f"dbt.{node['node']}", "prefect.resource.name": node["node"]},
        payload={k: node[k] for k in ("seconds", "failures", "message")},
    )


def _node_artifact(progress: DbtProgress) -> None:
    """Every node of the build as a table artifact of the dbt-build run, failures first."""
    from prefect.artifacts import create_table_artifact

    order = {"error": 0, "fail": 1, "runtime error": 1, "warn": 2}
    rows = sorted(progress.nodes, key=lambda n: (order.get(n["status"], 3), n["node"]))
    create_table_artifact(
        key="dbt-build-nodes",
        table=rows,
        description=f"dbt build: {progress.done} nodes, {progress.failed} failed (invocation {progress.invocation_id})",
    )


@flow(name="dbt-build", timeout_seconds=DBT_TIMEOUT_S)
def dbt_build(
    full_refresh: bool,
    select: str | None,
    project_dir: Path,
    profiles_dir: Path,
    target_dir: Path | None = None,
) -> publish_gate.BuildResult:
    """`dbt build` in this process; a subflow so that its time limit (DBT_TIMEOUT_S, the nightly flow's
    `dbt_timeout_s`) bounds the whole build.

    dbt's own console output is off; the run log gets progress ("N of M nodes") and every failure or warning by
    name (DbtProgress), the Prefect UI a table of every node and one event per node.
    """
    from dbt.cli.main import dbtRunner
    from prefect.context import FlowRunContext

    logger = get_run_logger()
    args = ["build", "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir), "--quiet"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select.split()]
    if target_dir is not None:
        args += ["--target-path", str(target_dir)]
    progress = DbtProgress(logger.info, _emit_node_event)
    context = FlowRunContext.get()
    limit = context.flow.timeout_seconds if context and context.flow else None
    started = time.monotonic()

    def over_time(error: object) -> TimeoutError | None:
        # Prefect stops a flow at its limit by raising inside it, which dbt reports as its own failure
        if limit and time.monotonic() - started >= limit:
            return TimeoutError(f"dbt build stopped at its time limit of {limit:g} s ({error!r})")
        return None

    try:
        res = dbtRunner(callbacks=[progress]).invoke(args)
    except BaseException as exc:
        timed_out = over_time(exc)
        if timed_out is None:
            raise
        raise timed_out from exc
    if res.exception is not None:  # dbt could not start (project, profile), or was stopped
        cause = " ".join(str(res.exception).split())  # dbt's message spans lines; the cause is on the later ones
        raise over_time(res.exception) or RuntimeError(f"dbt build could not run: {cause}")
    results = publish_gate.from_dbt_result(res)
    logger.info("dbt build finished in %.1f s: %d nodes, %d failed", time.monotonic() - started, progress.done,
                progress.failed)  # fmt: skip
    _node_artifact(progress)
    return publish_gate.BuildResult(results, invocation_id=publish_gate.invocation_id(res) or progress.invocation_id)


def _export_rows(results) -> list[dict[str, Any]]:
    return [
        {
            "mart": r.mart,
            "rows": r.rows,
            "action": r.action,
            "partitions_rewritten": r.partitions_rewritten,
            "version": r.version,
            "parity_ok": r.parity_ok,
        }
        for r in results
    ]


@task(name="export-delta", timeout_seconds=3600, **RETRY_DB)
def export_delta(wh, root: str, schema: str, full: bool) -> list[dict[str, Any]]:
    """Export every mart of `schema` to Delta; when any fails, every table this attempt moved goes back to the
    version it had, so Delta readers keep the published night (the run then fails or retries)."""
    from orchestration import publish
    from orchestration.delta_export import ExportConfig, export_marts, summary_table

    logger = get_run_logger()
    config = ExportConfig(root=Path(root), schema=schema)
    with wh.cursor() as cur:
        before = publish.delta_versions(config.root, publish.relations(cur, schema))
    try:
        results = export_marts(wh, config=config, full=full, log=logger.info)
    except BaseException:
        publish.restore_delta(config.root, before, log=logger.warning)
        raise
    logger.info("Delta export:\n%s", summary_table(results))
    rows = _export_rows(results)
    for row in rows:  # what publish-night puts back if PostgreSQL refuses the switch
        row["previous_version"] = before.get(row["mart"], -1)
    return rows


@task(name="publish-night", timeout_seconds=600, **RETRY_DB)
def publish_night(wh, root: str, record: Any, exported: list[dict[str, Any]]) -> Any:
    """Switch the PostgreSQL marts to tonight's schema and record the night in both stores.

    When PostgreSQL refuses the switch, the Delta tables go back to the versions of the night still published.
    """
    from orchestration import publish

    logger = get_run_logger()
    record.delta_versions = {row["mart"]: row["version"] for row in exported}
    try:
        stored = publish.publish(wh, record)
    except BaseException:
        before = {row["mart"]: row["previous_version"] for row in exported}
        publish.restore_delta(Path(root), before, log=logger.warning)
        raise
    publish.record_in_delta(Path(root), stored)
    logger.info("%s", stored.describe())
    return stored


@task(name="publish-quality-report", timeout_seconds=600)
def publish_quality_report(summary: dict[str, Any]) -> list[str]:
    """Run the QUALITY_REPORT_HOOKS (alerts, HTML quality report); returns the names of the hooks that ran."""
    logger = get_run_logger()
    ran = []
    for hook in QUALITY_REPORT_HOOKS:
        name = getattr(hook, "__name__", repr(hook))
        try:
            hook(summary)
            ran.append(name)
        except Exception as exc:  # a report must not unpublish data; say what failed
            logger.warning("quality report hook %s failed: %s", name, exc)
    return ran


def _ingest_line(name: str, info: dict[str, Any]) -> str:
    if name == "api":
        rows = info.get("rows", {})
        return f"  ingest api:   {', '.join(f'{t} {n}' for t, n in rows.items()) or 'nothing new'}"
    done = f"{info.get('files_loaded', 0)} file(s) loaded"
    if "files" in info:
        done += f" of {info['files']}"
    if info.get("files_skipped"):
        done += f", {info['files_skipped']} already loaded"
    return f"  ingest {name + ':':<6} {done}, {info.get('rows', 0)} rows, {info.get('quarantined', 0)} quarantined"


def format_summary(summary: dict[str, Any]) -> str:
    """The run summary as printed at the end of `bankwh run`: ingest counts, dbt gate, rows and Delta versions."""
    lines = [f"nightly run: {summary['status']}"]
    for name, info in summary.get("ingest", {}).items():
        lines.append(_ingest_line(name, info) if isinstance(info, dict) else f"  ingest {name}: {info}")
    dbt = summary.get("dbt")
    if dbt is not None:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(dbt.get("statuses", {}).items()))
        lines.append(
            f"  dbt build: {dbt['nodes']} nodes ({counts or 'none'}); {len(dbt['failed_tests'])} failed test(s), "
            f"{len(dbt['warned_tests'])} warning(s), {len(dbt['errored_nodes'])} errored node(s)"
        )
        lines += [f"    FAILED {t}" for t in dbt["failed_tests"]]
        lines += [f"    ERROR  {n}" for n in dbt["errored_nodes"]]
        lines += [f"    warn   {t}" for t in dbt["warned_tests"]]
    if summary.get("export"):
        lines.append(f"  Delta export to {summary.get('delta_root', '')}:")
    for row in summary.get("export", []):
        rewritten = f" ({row['partitions_rewritten']} partition(s))" if row["action"] == "incremental" else ""
        lines.append(
            f"    {row['mart']:<40} rows {row['rows']:>9}  Delta v{row['version']:<4} "
            f"{row['action'] + rewritten:<28} parity {'ok' if row['parity_ok'] else 'MISMATCH'}"
        )
    if summary.get("published"):
        pub = summary["published"]
        lines.append(f"  published: run {pub['run_id']} (schema {pub['schema']}) at {pub['published_at']}")
    elif summary.get("schema") and summary["status"] in ("built", "blocked"):
        lines.append(f"  not published: tonight's marts are in {summary['schema']}; readers keep the previous night")
    if summary.get("seconds"):
        lines.append("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items()))
    return "\n".join(lines)


@flow(name="nightly", log_prints=True, timeout_seconds=RUN_TIMEOUT_S)
def nightly(
    sources: list[str] | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    run_dbt: bool = True,
    export: bool = True,
    data_dir: str | None = None,
    berka_dir: str | None = None,
    api_url: str | None = None,
    api_token: str | None = None,
    delta_root: str | None = None,
    database: str | None = None,
    dbt_project_dir: str | None = None,
    dbt_target_dir: str | None = None,
    wait_for_lock: bool = True,
    lock_timeout_s: float = 6 * 3600,
    dbt_timeout_s: float = DBT_TIMEOUT_S,
) -> dict[str, Any] | Any:
    """Ingest the sources, build and test tonight's marts with dbt, and publish them (write–audit–publish).

    dbt writes the marts into the candidate schema (orchestration/publish.py); only when every error-severity test
    passed are they exported to Delta Lake and made visible in PostgreSQL, together. A failing night leaves both
    stores on the previous night.
    sources: subset of files, api, berka (default files and api, plus berka when its folder exists; [] skips
    ingestion). full_refresh: dbt --full-refresh and a full Delta rewrite. select: dbt node selection (e.g.
    "+fact_loans"); a night that publishes also rebuilds every mart, so the candidate is whole. run_dbt=False
    re-exports the published marts to Delta (a repair), export=False builds and tests without publishing.
    dbt_project_dir: the dbt project (default $BANKWH_DBT_PROJECT_DIR, else this repository).
    dbt_target_dir: dbt's target folder (default <project>/target). dbt_timeout_s: time limit of the dbt build. The
    run's own limit is RUN_TIMEOUT_S (`nightly.with_options`).
    """
    from datetime import UTC, datetime

    from prefect.runtime import flow_run

    from orchestration import locking, publish

    logger = get_run_logger()
    sources = default_sources(berka_dir) if sources is None else list(sources)
    unknown = sorted(set(sources) - set(ALL_SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(ALL_SOURCES)}")
    wh = connect_warehouse(database)
    root = delta_root or str(PROJECT_ROOT / "data" / "delta")
    summary: dict[str, Any] = {"status": "running", "sources": sources, "ingest": {}, "export": [],
                               "delta_root": root, "seconds": {}}  # fmt: skip

    def timed(step: str, started: float) -> None:
        summary["seconds"][step] = round(time.perf_counter() - started, 1)

    with locking.exclusive(
        wh, "nightly", wait=wait_for_lock, timeout_s=lock_timeout_s, owner=str(flow_run.name or ""), log=logger.info
    ):
        night_started = datetime.now(UTC)
        candidate = publish.candidate_schema(wh)
        publish.realign_delta(wh, Path(root), log=logger.warning)
        summary["schema"] = candidate
        started = time.perf_counter()
        ensure_raw_tables(wh)
        logger.info("ingest: %s", ", ".join(sources) or "nothing (no sources)")
        if "files" in sources:
            summary["ingest"]["files"] = ingest_files(wh, data_dir or str(PROJECT_ROOT / "data" / "raw"))
        if "api" in sources:
            summary["ingest"]["api"] = ingest_api(
                wh, api_url or os.environ.get("BANKWH_API_URL"), api_token or os.environ.get("BANKWH_API_TOKEN")
            )
        if "berka" in sources:
            summary["ingest"]["berka"] = ingest_berka(wh, berka_dir)
        timed("ingest", started)

        build = None
        if run_dbt:
            started = time.perf_counter()
            project = Path(dbt_project_dir or os.environ.get("BANKWH_DBT_PROJECT_DIR") or PROJECT_ROOT)
            # a published candidate must hold every mart of tonight, whatever else was selected
            selection = f"{select} fqn:marts" if select and export else select
            logger.info("dbt build%s%s into %s on %s/%s ...", " --full-refresh" if full_refresh else "",
                        f" --select {selection}" if selection else "", candidate, wh.host, wh.database)  # fmt: skip
            os.environ[publish.SCHEMA_ENV] = candidate  # dbt_project.yml: the marts' schema
            target = Path(dbt_target_dir) if dbt_target_dir else None
            build = dbt_build.with_options(timeout_seconds=dbt_timeout_s)(
                full_refresh, selection, project, PROJECT_ROOT, target
            )
            results = build.results
            statuses: dict[str, int] = {}
            for r in results:
                statuses[r.status] = statuses.get(r.status, 0) + 1
            summary["dbt"] = {
                "nodes": len(results),
                "statuses": statuses,
                "invocation_id": build.invocation_id,
                "failed_tests": [r.name for r in publish_gate.blocking(results) if r.is_test],
                "warned_tests": [r.name for r in publish_gate.warnings(results)],
                "errored_nodes": [r.unique_id for r in publish_gate.blocking(results) if not r.is_test],
            }
            timed("dbt", started)
            try:
                publish_gate.check(results)
            except publish_gate.PublishBlocked as blocked:
                summary["status"] = "blocked"
                logger.error(format_summary(summary))
                # an expected verdict, not a crash: the run ends Failed with the gate's message, no traceback
                return Failed(message=str(blocked), data=blocked)
            logger.info("publish gate open: every error-severity test passed")

        if export:
            started = time.perf_counter()
            if build is None:  # no build tonight: bring Delta back in line with the published night
                summary["schema"] = publish.PUBLISHED_SCHEMA
                summary["export"] = export_delta(wh, root, publish.PUBLISHED_SCHEMA, full_refresh)
            else:
                summary["export"] = export_delta(wh, root, candidate, full_refresh)
                record = publish.PublishedRun(
                    run_id=str(flow_run.id or f"local-{night_started:%Y%m%dT%H%M%S}"),
                    schema=candidate,
                    dbt_invocation_id=build.invocation_id,
                    dlt_load_ids=publish.loads_since(wh, night_started, publish.raw_schemas(wh)),
                )
                stored = publish_night(wh, root, record, summary["export"])
                summary["published"] = {
                    "run_id": stored.run_id,
                    "schema": stored.schema,
                    "published_at": stored.published_at.isoformat() if stored.published_at else None,
                    "dlt_load_ids": stored.dlt_load_ids,
                }
            timed("export", started)
        summary["status"] = "published" if export and build is not None else ("exported" if export else "built")
        logger.info(format_summary(summary))
        summary["logged"] = True
        summary["quality_report_hooks"] = publish_quality_report(summary)
    return summary
