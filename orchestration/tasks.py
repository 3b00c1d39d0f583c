"""The Prefect tasks of the nightly flow: connect, ingest each source, check source freshness, alert, record the
night's history, export to Delta, publish; and the demo bank's API for a demo night.

Each task is a thin wrapper that gives a step of `ingest`, `publishing` or `monitoring` its timeout, its retry policy
(orchestration/retries.py) and the run's logger; the flow (orchestration/flows.py) only wires them together.
Imports are absolute: a worker loads the flow from its file, and a module of this package must import the same way
whichever way it was reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from orchestration.retries import RETRY, RETRY_DB

ALL_SOURCES = ("files", "api", "berka")
#: The dbt sources each ingest source loads: tonight's freshness check covers what tonight ingested.
DBT_SOURCES = {"files": "source:core_banking", "api": "source:bank_api", "berka": "source:raw_berka"}
#: Files with a few quarantined lines listed in the night's log; the rest are counted (monitoring.ingest_files has all).
FILE_TABLE_LIMIT = 20
#: Per-file progress lines of the landing-file ingest: the first, every FILE_LOG_EVERY-th, the last and failures.
FILE_LOG_EVERY = 250


@task(name="connect-warehouse", timeout_seconds=300, **RETRY)
def connect_warehouse(database: str | None = None):
    import warehouse

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
    return list(ALL_SOURCES) if holds_berka_files(folder) else ["files", "api"]


def throttled(log: Callable[[str], None], every: int = FILE_LOG_EVERY) -> Callable[[str], None]:
    """A log function that passes every message except most per-file lines (`  [i/n] name: ...`).

    Why: a year of landing files is thousands of lines; the run log keeps the first, every `every`-th, the last
    and every failed file, so progress stays visible without burying the rest of the run.
    """
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
def ingest_files(wh, data_dir: str, pipelines_dir: str | None = None) -> dict[str, Any]:
    from ingest.files_pipeline import run_files_ingest

    summary = run_files_ingest(wh, data_dir, pipelines_dir=pipelines_dir, log=throttled(get_run_logger().info))
    return _file_ingest_counts(summary)


def _file_ingest_counts(summary) -> dict[str, Any]:
    """The counts the night keeps of a file ingest; the per-file table and the files quarantined whole are logged."""
    logger = get_run_logger()
    logger.info("ingest %s (files loaded clean are counted in the total line):\n%s", summary.source,
                summary.table(notable_only=True, limit=FILE_TABLE_LIMIT))  # fmt: skip
    for quarantined in summary.quarantined_files:
        logger.warning("ingest %s: quarantined whole: %s", summary.source, quarantined)
    if summary.errors:
        raise RuntimeError(f"{len(summary.errors)} {summary.source} file(s) failed: " + "; ".join(summary.errors))
    return {**summary.counts(), "file_results": file_results(summary)}


def file_results(summary) -> list[dict[str, Any]]:
    """One row per file the ingest read tonight (the night's history, monitoring.ingest_files); files already in the
    ledger with the same content are left out, so a year of landing files is not repeated every night."""
    return [
        {
            "file": f.file_name,
            "status": f.status,
            "lines_in": f.lines_in,
            "rows_loaded": f.rows,
            "rows_quarantined": f.quarantined,
            "reason": f.message or None,
        }
        for f in summary.files
        if f.status != "unchanged"
    ]


@task(name="ingest-api", timeout_seconds=1800, **RETRY)
def ingest_api(wh, base_url: str | None, token: str | None, pipelines_dir: str | None = None) -> dict[str, Any]:
    from ingest.api_pipeline import run_api_ingest

    return run_api_ingest(wh, base_url, token, pipelines_dir, log=get_run_logger().info)


@contextmanager
def demo_bank_api(landing_dir: str) -> Iterator[str]:
    """The simulated bank's HTTP API, served from this process for as long as the block runs; its URL.

    Why here: a demo night needs the bank API, and whatever runs the night (`bankwh run --demo`, a run that
    `bankwh serve --demo` or a worker started with the parameter demo=true) must not depend on a second command
    started beside it. The API serves the generator's layout: `<root>/raw` (the landing files, surveys among them)
    and `<root>/api/fx_rates.csv`, so the landing folder must be `<root>/raw`.
    """
    from bank_sim.api.server import start_server, stop_server

    landing = Path(landing_dir)
    if landing.name != "raw" or not (landing.parent / "api").is_dir():
        raise ValueError(
            f"the demo bank API serves the folder above the landing folder, which must be <root>/raw beside "
            f"<root>/api (the generator's layout; got {landing}); or set BANKWH_API_URL to a running bank API"
        )
    server = start_server(landing.parent)
    get_run_logger().info("demo bank API serving %s at %s", landing.parent, server[0].url)
    try:
        yield server[0].url
    finally:
        stop_server(*server)


@task(name="ingest-berka", timeout_seconds=3600, **RETRY)
def ingest_berka(wh, berka_dir: str | None) -> dict[str, Any]:
    from ingest.berka_pipeline import default_berka_dir, run_berka_ingest

    folder = Path(berka_dir) if berka_dir else default_berka_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"the Berka folder {folder} does not exist; set BANKWH_BERKA_DIR or pass berka_dir")
    return _file_ingest_counts(run_berka_ingest(wh, folder, log=throttled(get_run_logger().info)))


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
    from publishing import publish
    from publishing.delta_export import ExportConfig, export_marts, summary_table

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
    from publishing import publish

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


@task(name="source-freshness", timeout_seconds=900)
def check_freshness(
    project_dir: str, profiles_dir: str, target_dir: str | None, ingested: list[str] | None = None
) -> list[Any]:
    """`dbt source freshness` on the dbt sources of tonight's ingest sources (every declared source when tonight
    ingested nothing); the results (monitoring.SourceFreshness). Why not always all: a deployment that does not
    load a source (a bank without the Czech files) would be told every night that its empty tables are stale.

    Why it never fails the night: a stale source is logged here and alerted by send-alerts, but the publish gate is
    dbt's tests; a freshness check that cannot run at all is logged and the night goes on without it.
    """
    import json

    from monitoring import freshness_from
    from orchestration import transform

    logger = get_run_logger()
    target = Path(target_dir) if target_dir else Path(project_dir) / "target"
    select = [DBT_SOURCES[name] for name in ingested or [] if name in DBT_SOURCES]
    args = transform.freshness_args(
        Path(project_dir), Path(profiles_dir), Path(target_dir) if target_dir else None, select
    )
    try:
        sources = transform.run_freshness(args, target / "sources.json", logger.info)
        if sources is None:
            return []
        results = freshness_from(sources, json.loads((target / "manifest.json").read_text()))
    except Exception as exc:  # staleness is never a reason to stop the night, nor is its check
        logger.error("source freshness: not checked tonight: %s", exc)
        return []
    for r in results:
        if r.stale:
            logger.warning("source freshness: %s [%s]", r.describe(), r.unique_id)
    return results


@task(name="send-alerts", timeout_seconds=300)
def send_alerts(wh, run_id: str, target_dir: str, freshness: list[Any] | None = None) -> dict[str, Any]:
    """Tonight's failing models and tests, and stale sources, to their owners (monitoring/alerts.py): new, still
    failing, resolved.

    Why it never fails the night: an alert that cannot be delivered is logged and counted, but a broken mail server
    must not hold back (or undo) a night whose gate passed. A build that wrote no artifacts alerts only on the
    sources' freshness here; its error already fails the run.
    """
    from monitoring import AlertConfig, findings_from_artifacts, freshness_findings, merge_findings
    from monitoring import send_alerts as deliver

    logger = get_run_logger()
    target = Path(target_dir)
    findings = freshness_findings(freshness or [])
    if (target / "run_results.json").is_file():
        build = findings_from_artifacts(target / "run_results.json", target / "manifest.json")
        findings = merge_findings(build, findings)
    else:
        logger.warning("alerts: no run_results.json in %s, no build results to alert on", target)
    if not (findings.failures or findings.warnings or findings.passed):
        return {"new": 0, "ongoing": 0, "resolved": 0, "errors": 0}
    conn = wh.connect()
    try:
        outcome = deliver(conn, run_id, findings, AlertConfig.from_env())
    finally:
        conn.close()
    return _alert_counts(outcome)


def _alert_counts(outcome) -> dict[str, int]:
    """The night's alerts in numbers, with the log lines that say who was reached and what was not delivered."""
    logger = get_run_logger()
    counts = {kind: len(outcome.keys(kind)) for kind in ("new", "ongoing", "resolved")}
    counts["errors"] = len(outcome.errors)
    reached = ", ".join(outcome.emailed) or "no e-mail"
    logger.info("alerts: %(new)d new, %(ongoing)d still failing, %(resolved)d resolved", counts)
    if outcome.events:
        logger.info("alerts sent to %s%s", reached, " and the webhook" if outcome.webhook_posted else "")
    for error in outcome.errors:
        logger.error("alert delivery: %s", error)
    return counts


@task(name="record-history", timeout_seconds=600, **RETRY_DB)
def record_history(
    wh,
    run_id: str,
    target_dir: str | None = None,
    ingest: dict[str, Any] | None = None,
    freshness: list[Any] | None = None,
    exported: list[dict[str, Any]] | None = None,
) -> dict[str, int]:
    """Append what the night has so far to the history tables of schema `monitoring` (monitoring/history.py).

    Called before the publish gate (dbt nodes, files, freshness: a blocked night is recorded too) and once more
    after the export (the Delta versions of a night that published). Retrying is safe: a row the run already
    recorded is not inserted twice.
    """
    import json

    from monitoring import history

    target = Path(target_dir) if target_dir else None
    artifacts = {}
    if target is not None and (target / "run_results.json").is_file():
        artifacts = {name: json.loads((target / f"{name}.json").read_text()) for name in ("run_results", "manifest")}
    conn = wh.connect()
    try:
        counts = history.record(conn, run_id, ingest=ingest, freshness=freshness, exported=exported, **artifacts)
    finally:
        conn.close()
    get_run_logger().info("history: %s", ", ".join(f"monitoring.{t} +{n}" for t, n in counts.items()) or "nothing")
    return counts
