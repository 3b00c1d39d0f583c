"""The night's quality checks after the build: anomalies and reconciliation of tonight's candidate marts.

A thin Prefect task over `monitoring`, like orchestration/tasks.py; the flow (orchestration/flows.py) calls it after
the night's history is recorded, before the publish gate.
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
