"""The `nightly` Prefect flow: ingest → dbt build → publish gate → Delta export → summary → quality report hooks.

Why one flow with a lock around it: every step writes the same warehouse database, so two nightly runs must never
interleave (see orchestration/locking.py); a run that finds the lock taken waits (default) or is refused.
Transient steps (database connection, the bank API, landing files on a network share) retry with exponential
backoff, only for errors that can heal by themselves; every task has a timeout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.tasks import exponential_backoff

from . import PROJECT_ROOT, publish_gate

ALL_SOURCES = ("files", "api", "berka")

#: Called with the run summary after the export, in order. The alerts and HTML quality report plug in here:
#: `QUALITY_REPORT_HOOKS.append(my_hook)`; a failing hook is logged and does not undo the published export.
QUALITY_REPORT_HOOKS: list[Callable[[dict[str, Any]], None]] = []


def _transient(task_obj, task_run, state) -> bool:
    """Retry only errors that can heal by waiting: lost connections, timeouts, HTTP 5xx/429 from the API."""
    try:
        state.result()
    except Exception as exc:  # the task's own exception, re-raised by result()
        import psycopg2

        if isinstance(exc, ConnectionError | TimeoutError | psycopg2.OperationalError):
            return True
        text = str(exc).lower()
        return any(s in text for s in ("timed out", "connection", "503", "502", "504", "429", "temporarily"))
    return False


RETRY = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=10),
    "retry_jitter_factor": 0.2,
    "retry_condition_fn": _transient,
}


@task(name="connect-warehouse", timeout_seconds=300, **RETRY)
def connect_warehouse(database: str | None = None):
    from . import warehouse

    wh = warehouse.resolve(start=True, log=get_run_logger().info)
    wh = wh.with_database(database) if database else wh
    warehouse.ensure_database(wh)
    warehouse.apply_env(wh)  # dbt's profiles.yml reads the PG* variables
    return wh


@task(name="ingest-files", timeout_seconds=3600, **RETRY)
def ingest_files(wh, data_dir: str) -> dict[str, Any]:
    from ingest.files_pipeline import run_files_ingest

    summary = run_files_ingest(wh, data_dir, log=get_run_logger().info)
    if summary.errors:
        raise RuntimeError(f"{len(summary.errors)} landing file(s) failed: " + "; ".join(summary.errors))
    return {"files_loaded": len(summary.loaded), "files": len(summary.files), "notes": summary.notes}


@task(name="ingest-api", timeout_seconds=1800, **RETRY)
def ingest_api(wh, base_url: str | None, token: str | None) -> dict[str, Any]:
    from ingest.api_pipeline import run_api_ingest

    return run_api_ingest(wh, base_url, token, log=get_run_logger().info)


@task(name="ingest-berka", timeout_seconds=3600, **RETRY)
def ingest_berka(wh, berka_dir: str | None) -> Any:
    from ingest.berka_pipeline import default_berka_dir, run_berka_ingest

    return run_berka_ingest(wh, berka_dir or default_berka_dir())


def dbt_build(
    full_refresh: bool, select: str | None, project_dir: Path, profiles_dir: Path
) -> list[publish_gate.NodeResult]:
    """`dbt build` through prefect-dbt: inside the flow every model, seed, snapshot and test is its own task."""
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select.split()]
    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(project_dir=project_dir, profiles_dir=profiles_dir),
        raise_on_failure=False,  # the publish gate decides, with every failure named
    )
    res = runner.invoke(args)
    return publish_gate.from_dbt_result(res)


@task(name="export-delta", timeout_seconds=3600)
def export_delta(wh, root: str | None, marts: list[str] | None, full: bool) -> list[dict[str, Any]]:
    from .delta_export import ExportConfig, export_marts, summary_table

    logger = get_run_logger()
    config = ExportConfig(root=Path(root)) if root else ExportConfig()
    results = export_marts(wh, marts=marts, config=config, full=full, log=logger.info)
    logger.info("Delta export:\n%s", summary_table(results))
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


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"nightly run: {summary['status']}"]
    for name, info in summary.get("ingest", {}).items():
        lines.append(f"  ingest {name}: {info}")
    dbt = summary.get("dbt")
    if dbt is not None:
        lines.append(
            f"  dbt build: {dbt['nodes']} nodes, {len(dbt['failed_tests'])} failed test(s), "
            f"{len(dbt['warned_tests'])} warning(s), {len(dbt['errored_nodes'])} errored node(s)"
        )
        lines += [f"    FAILED {t}" for t in dbt["failed_tests"]]
        lines += [f"    warn   {t}" for t in dbt["warned_tests"]]
    for row in summary.get("export", []):
        lines.append(
            f"  {row['mart']:<28} rows {row['rows']:>10}  Delta v{row['version']:<4} {row['action']:<11} "
            f"parity {'ok' if row['parity_ok'] else 'MISMATCH'}"
        )
    return "\n".join(lines)


@flow(name="nightly", log_prints=True)
def nightly(
    sources: list[str] | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    run_dbt: bool = True,
    export: bool = True,
    marts: list[str] | None = None,
    data_dir: str | None = None,
    berka_dir: str | None = None,
    api_url: str | None = None,
    api_token: str | None = None,
    delta_root: str | None = None,
    database: str | None = None,
    dbt_project_dir: str | None = None,
    wait_for_lock: bool = True,
    lock_timeout_s: float = 6 * 3600,
) -> dict[str, Any]:
    """Ingest the sources, build and test the warehouse with dbt, and publish the marts to Delta Lake.

    sources: subset of files, api, berka (default all; [] skips ingestion). full_refresh: dbt --full-refresh and
    a full Delta rewrite. select: dbt node selection (e.g. "marts+"). run_dbt/export switch steps off.
    """
    from . import locking

    logger = get_run_logger()
    sources = list(ALL_SOURCES) if sources is None else list(sources)
    unknown = sorted(set(sources) - set(ALL_SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(ALL_SOURCES)}")
    wh = connect_warehouse(database)
    summary: dict[str, Any] = {"status": "running", "ingest": {}, "export": []}
    from prefect.runtime import flow_run

    with locking.exclusive(
        wh, "nightly", wait=wait_for_lock, timeout_s=lock_timeout_s, owner=str(flow_run.name or ""), log=logger.info
    ):
        if "files" in sources:
            summary["ingest"]["files"] = ingest_files(wh, data_dir or str(PROJECT_ROOT / "data" / "raw"))
        if "api" in sources:
            summary["ingest"]["api"] = ingest_api(
                wh, api_url or os.environ.get("BANKWH_API_URL"), api_token or os.environ.get("BANKWH_API_TOKEN")
            )
        if "berka" in sources:
            summary["ingest"]["berka"] = str(ingest_berka(wh, berka_dir))

        if run_dbt:
            project = Path(dbt_project_dir) if dbt_project_dir else PROJECT_ROOT
            results = dbt_build(full_refresh, select, project, PROJECT_ROOT)
            summary["dbt"] = {
                "nodes": len(results),
                "failed_tests": [r.name for r in publish_gate.blocking(results) if r.is_test],
                "warned_tests": [r.name for r in publish_gate.warnings(results)],
                "errored_nodes": [r.unique_id for r in publish_gate.blocking(results) if not r.is_test],
            }
            try:
                publish_gate.check(results)
            except publish_gate.PublishBlocked:
                summary["status"] = "blocked"
                logger.error(format_summary(summary))
                raise

        if export:
            summary["export"] = export_delta(wh, delta_root, marts, full_refresh)
        summary["status"] = "published" if export else "built"
        logger.info(format_summary(summary))
        summary["quality_report_hooks"] = publish_quality_report(summary)
    return summary
