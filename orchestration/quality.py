"""The night's quality steps after the build: anomalies and reconciliation (`check_quality`), and the static
quality report (`write_report`), which the flow writes after every run, failed ones included.

Thin Prefect tasks over `monitoring`, like orchestration/tasks.py; the flow (orchestration/flows.py) calls
`check_quality` after the night's history is recorded and `write_report` on every way out of the run.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from .retries import RETRY_DB


@task(name="check-quality", timeout_seconds=900, **RETRY_DB)
def check_quality(wh, run_id: str, schema: str) -> dict[str, Any]:
    """Anomalies and reconciliation of tonight's candidate marts in `schema`, recorded under `monitoring`."""
    get_run_logger().info("quality checks: none configured yet")
    return {}


@task(name="write-report", timeout_seconds=600)
def write_report(wh, run_id: str, summary: dict[str, Any]) -> str | None:
    """The static HTML quality report of every night so far; returns its path."""
    get_run_logger().info("quality report: not written yet")
    return None
