"""The static HTML quality report, written by the flow after every run, failed ones included.

A thin Prefect task over `monitoring`, like orchestration/tasks.py; the flow (orchestration/flows.py) calls it on
every way out of the run.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task


@task(name="write-report", timeout_seconds=600)
def write_report(wh, run_id: str, summary: dict[str, Any]) -> str | None:
    """The static HTML quality report of every night so far; returns its path."""
    get_run_logger().info("quality report: not written yet")
    return None
