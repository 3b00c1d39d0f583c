"""The static HTML quality report, written by the flow after every run, failed ones included.

A thin Prefect task over `monitoring.report`, like orchestration/tasks.py; the flow (orchestration/flows.py) calls it
on every way out of the run.

Where: `$BANKWH_REPORT_PATH` when set, else `reports/quality-report.html` in the run's data folder, the parent of
its Delta root (`data/delta` by default, so `data/reports/quality-report.html` in the project directory, where
`bankwh report` writes it too). Why beside the Delta root: a run told to keep its Delta tables elsewhere (a test, a
trial run under /tmp) keeps its report there too, instead of replacing the project's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

#: The variable that names the report's file explicitly (a deployment that publishes it on a share).
REPORT_ENV = "BANKWH_REPORT_PATH"
#: Nights the nightly report covers.
REPORT_NIGHTS = int(os.environ.get("BANKWH_REPORT_NIGHTS", 30))


def report_path(delta_root: str | Path) -> Path:
    """The file the night's report goes to (see the module's docstring)."""
    named = os.environ.get(REPORT_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    return Path(delta_root).parent / "reports" / "quality-report.html"


@task(name="write-report", timeout_seconds=600)
def write_report(wh, run_id: str, summary: dict[str, Any]) -> str | None:
    """The static HTML quality report of the last nights, this one included; returns its path.

    Why it never fails the night: the report describes the night, it is not part of it. A night that published
    stays published when its report cannot be written (a full disk, a read-only share); the error is logged and
    the path is None.
    """
    from monitoring import report
    from warehouse.project import project_path

    logger = get_run_logger()
    path = report_path(summary.get("delta_root") or project_path("data", "delta"))
    try:
        conn = wh.connect()
        try:
            written = report.write_report(conn, path, nights=REPORT_NIGHTS, database=wh.database)
        finally:
            conn.close()
    except Exception as exc:
        logger.error("quality report: not written: %s: %s", type(exc).__name__, exc)
        return None
    logger.info("quality report (run %s, %d night(s), %d chart(s) with data): %s", run_id, written.nights,
                written.charts, written.path)  # fmt: skip
    return str(written.path)
