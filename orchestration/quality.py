"""The night's quality checks after the build: anomalies and reconciliation of tonight's candidate marts.

A thin Prefect task over `monitoring`, like orchestration/tasks.py; the flow (orchestration/flows.py) calls it after
the night's history is recorded, before the publish gate, so a night the gate blocks is checked and recorded too.
Neither check blocks publication (the gate is dbt's tests): an anomaly or an unexplained difference is an alert to
the owners dbt declares for the table or source concerned, grouped over nights like a failing test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from .retries import RETRY_DB


def _owner_lookup(target_dir: str | None):
    """Owners by dbt unique_id from the build's manifest.json: in `target_dir`, else where the nightly flow told
    dbt to write it (its dbt_target_dir or dbt_project_dir parameters, as the flow resolves them); none without one."""
    from prefect.runtime import flow_run

    from monitoring.findings import owners_of
    from warehouse.project import project_dir

    params = flow_run.parameters or {}
    target = target_dir or params.get("dbt_target_dir")
    if not target:
        project = params.get("dbt_project_dir") or os.environ.get("BANKWH_DBT_PROJECT_DIR") or project_dir()
        target = Path(project) / "target"
    path = Path(target) / "manifest.json"
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    return lambda node: owners_of(manifest, node)


@task(name="check-quality", timeout_seconds=900, **RETRY_DB)
def check_quality(wh, run_id: str, schema: str, target_dir: str | None = None) -> dict[str, Any]:
    """Anomalies and reconciliation of tonight's candidate marts in `schema`, recorded under `monitoring`
    (`anomalies`, `reconciliation`, the audit trail's `load_lineage`), and alerted. `target_dir` is dbt's target
    folder, for the owners in manifest.json (default: the nightly flow's)."""
    from monitoring import AlertConfig, anomalies, audit, merge_findings, reconciliation, send_alerts

    logger = get_run_logger()
    owners = _owner_lookup(target_dir)
    conn = wh.connect()
    try:
        points, anomaly_findings = anomalies.check(conn, run_id, schema, owners=owners)
        steps, gaps = reconciliation.reconcile(conn, run_id, schema, owners=owners)
        audited = audit.ensure_lineage_view(conn)
        findings = merge_findings(anomaly_findings, gaps)
        outcome = (
            send_alerts(conn, run_id, findings, AlertConfig.from_env())
            if findings.failures or findings.passed
            else None
        )
    finally:
        conn.close()
    flagged = [p for p in points if p.is_anomaly]
    unexplained = reconciliation.unexplained_difference(steps)
    logger.info("quality: %d points checked, %d anomalous; reconciliation: %d steps, unexplained difference %d rows",
                len(points), len(flagged), len(steps), unexplained)  # fmt: skip
    for step in steps:
        if not step.balanced:
            logger.error("reconciliation: %s", step.describe())
    return {
        "points": len(points),
        "anomalies": len(flagged),
        "reconciliation_steps": len(steps),
        "unexplained_rows": unexplained,
        "unbalanced": [s.to_table for s in steps if not s.balanced],
        "audit_trail": audited,
        "alerts": {kind: len(outcome.keys(kind)) for kind in ("new", "ongoing", "resolved")} if outcome else {},
    }
