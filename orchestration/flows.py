"""The `nightly` Prefect flow: ingest → source freshness → dbt build → alerts and history → publish gate → Delta
export → publish. Wiring only: the steps are the tasks of orchestration/tasks.py, the dbt build is
orchestration/transform.py, the report is orchestration/summary.py, what the UI shows of a night is
orchestration/artifacts.py.

Write–audit–publish: dbt writes tonight's marts into a candidate schema and tests them there; only a night whose
error-severity tests all passed is exported to Delta and switched on in PostgreSQL (publishing/publish.py), so
readers of either store see a whole night that passed, or the previous one.
Why one flow with a lock around it: every step writes the same warehouse database, so two nightly runs must never
interleave (see warehouse/locking.py); a run that finds the lock taken waits (default) or is refused.
Transient steps retry with exponential backoff, only for errors that can heal by themselves
(orchestration/retries.py). Every task has a timeout, the dbt build (a subflow) has one, and so has the whole run
(`BANKWH_RUN_TIMEOUT_S`, or `bankwh run --timeout`).

Imports are absolute: `prefect deploy` and a worker load this file by its path (prefect.yaml's entrypoint).
"""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Failed

from orchestration import artifacts, quality, quality_report, transform
from orchestration import summary as report
from orchestration.tasks import (
    ALL_SOURCES,
    check_freshness,
    connect_warehouse,
    default_sources,
    demo_bank_api,
    ensure_raw_tables,
    export_delta,
    ingest_api,
    ingest_berka,
    ingest_files,
    publish_night,
    record_history,
    send_alerts,
)
from publishing import gate, publish
from warehouse import locking
from warehouse.project import project_dir

#: Time limits in seconds. The run's limit covers waiting for another run's lock (6 h at most by default) too.
RUN_TIMEOUT_S = float(os.environ.get("BANKWH_RUN_TIMEOUT_S", 12 * 3600))
DBT_TIMEOUT_S = float(os.environ.get("BANKWH_DBT_TIMEOUT_S", 4 * 3600))


@flow(name="dbt-build", timeout_seconds=DBT_TIMEOUT_S)
def dbt_build(
    full_refresh: bool,
    select: str | None,
    project_dir: Path,
    profiles_dir: Path,
    target_dir: Path | None = None,
) -> gate.BuildResult:
    """`dbt build` in this process; a subflow so that its time limit (DBT_TIMEOUT_S, the nightly flow's
    `dbt_timeout_s`) bounds the whole build."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    limit = context.flow.timeout_seconds if context and context.flow else None
    args = transform.build_args(full_refresh, select, project_dir, profiles_dir, target_dir)
    logger = get_run_logger()
    return transform.run_build(
        args,
        logger.info,
        limit,
        detail=lambda line: logger.info(line, extra=transform.DETAIL),
        target_dir=target_dir or project_dir / "target",
    )


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
    demo: bool = False,
) -> dict[str, Any] | Any:
    """Ingest the sources, build and test tonight's marts with dbt, and publish them (write–audit–publish).

    dbt writes the marts into the candidate schema (publishing/publish.py); only when every error-severity test
    passed are they exported to Delta Lake and made visible in PostgreSQL, together. A failing night leaves both
    stores on the previous night.
    sources: subset of files, api, berka (default files and api, plus berka when its folder exists; [] skips
    ingestion). full_refresh: dbt --full-refresh and a full Delta rewrite. select: dbt node selection (e.g.
    "+fact_loans"); a night that publishes also rebuilds every mart, so the candidate is whole. run_dbt=False
    re-exports the published marts to Delta (a repair), export=False builds and tests without publishing.
    Paths default to the project directory (warehouse/project.py): data/raw, data/delta, .dlt/pipelines.
    dbt_project_dir: the dbt project (default $BANKWH_DBT_PROJECT_DIR, else the project directory).
    dbt_target_dir: dbt's target folder (default <project>/target). dbt_timeout_s: time limit of the dbt build. The
    run's own limit is RUN_TIMEOUT_S (`nightly.with_options`). demo: a night of the simulated bank: when no API URL
    is given (api_url, BANKWH_API_URL), the run serves the demo bank's API itself from the landing folder's parent.
    """
    from prefect.runtime import flow_run

    logger = get_run_logger()
    sources = default_sources(berka_dir) if sources is None else list(sources)
    unknown = sorted(set(sources) - set(ALL_SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(ALL_SOURCES)}")
    home = project_dir()
    pipelines = str(home / ".dlt" / "pipelines")
    wh = connect_warehouse(database)
    root = delta_root or str(home / "data" / "delta")
    summary: dict[str, Any] = {"status": "running", "sources": sources, "ingest": {}, "export": [],
                               "delta_root": root, "seconds": {}}  # fmt: skip

    def timed(step: str, started: float) -> None:
        summary["seconds"][step] = round(time.perf_counter() - started, 1)

    with locking.exclusive(
        wh, "nightly", wait=wait_for_lock, timeout_s=lock_timeout_s, owner=str(flow_run.name or ""), log=logger.info
    ):
        night_started = datetime.now(UTC)
        run_id = str(flow_run.id or f"local-{night_started:%Y%m%dT%H%M%S}")
        candidate = publish.candidate_schema(wh)
        publish.realign_delta(wh, Path(root), log=logger.warning)
        summary["schema"] = candidate
        started = time.perf_counter()
        ensure_raw_tables(wh)
        logger.info("ingest: %s", ", ".join(sources) or "nothing (no sources)")
        if "files" in sources:
            summary["ingest"]["files"] = ingest_files(wh, data_dir or str(home / "data" / "raw"), pipelines)
        if "api" in sources:
            url = api_url or os.environ.get("BANKWH_API_URL")
            landing = data_dir or str(home / "data" / "raw")
            with demo_bank_api(landing) if demo and not url else nullcontext(url) as url:
                token = api_token or os.environ.get("BANKWH_API_TOKEN")
                summary["ingest"]["api"] = ingest_api(wh, url, token, pipelines)
        if "berka" in sources:
            summary["ingest"]["berka"] = ingest_berka(wh, berka_dir)
        timed("ingest", started)

        build, freshness, artifacts_dir = None, None, None
        if run_dbt:
            project = Path(dbt_project_dir or os.environ.get("BANKWH_DBT_PROJECT_DIR") or home)
            target = Path(dbt_target_dir) if dbt_target_dir else None
            artifacts_dir = str(target or project / "target")
            os.environ[publish.SCHEMA_ENV] = candidate  # dbt_project.yml: the marts' schema
            started = time.perf_counter()
            freshness = check_freshness(str(project), str(home), dbt_target_dir, sources)
            summary["freshness"] = report.freshness_summary(freshness)
            timed("freshness", started)
            started = time.perf_counter()
            # a published candidate must hold every mart of tonight, whatever else was selected
            selection = f"{select} fqn:marts" if select and export else select
            logger.info("dbt build%s%s into %s on %s/%s ...", " --full-refresh" if full_refresh else "",
                        f" --select {selection}" if selection else "", candidate, wh.host, wh.database)  # fmt: skip
            build = dbt_build.with_options(timeout_seconds=dbt_timeout_s)(
                full_refresh, selection, project, home, target
            )
            summary["dbt"] = report.dbt_summary(build)
            timed("dbt", started)
            summary["alerts"] = send_alerts(wh, run_id, artifacts_dir, freshness)
        # before the gate, so a blocked night is history too
        summary["history"] = record_history(wh, run_id, artifacts_dir, summary["ingest"], freshness)
        if build is not None:
            summary["quality"] = quality.check_quality(wh, run_id, candidate)
            try:
                gate.check(build.results)
            except gate.PublishBlocked as blocked:
                summary["status"] = "blocked"
                summary["report"] = quality_report.write_report(wh, run_id, summary)
                artifacts.publish_night(summary, artifacts_dir)
                logger.error(report.format_summary(summary))
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
                    run_id=run_id,
                    schema=candidate,
                    dbt_invocation_id=build.invocation_id,
                    dlt_load_ids=publish.loads_since(wh, night_started, publish.raw_schemas(wh)),
                )
                summary["published"] = report.published_summary(publish_night(wh, root, record, summary["export"]))
            summary["history"].update(record_history(wh, run_id, exported=summary["export"]))
            timed("export", started)
        summary["status"] = "published" if export and build is not None else ("exported" if export else "built")
        summary["report"] = quality_report.write_report(wh, run_id, summary)
        artifacts.publish_night(summary, artifacts_dir)
        logger.info(report.format_summary(summary))
        summary["logged"] = True
    return summary
