"""Quality monitoring of the warehouse: alerts on the nightly build's failures and stale sources, and the nightly
history in schema `monitoring` (more of issue 12 to come).

Depends on nothing of `orchestration`, `bankwh`, `publishing` or `ingest`: the flow hands it a DB-API connection,
the paths of dbt's artifacts (or their parsed content), the tasks' plain results and the run id.
"""

from . import history
from .alerts import AlertOutcome, send_alerts
from .config import AlertConfig, AlertConfigError
from .findings import Finding, Findings, Owner, findings_from_artifacts
from .freshness import SourceFreshness, freshness_findings, freshness_from, freshness_from_artifacts, merge_findings

__all__ = [
    "AlertConfig",
    "AlertConfigError",
    "AlertOutcome",
    "Finding",
    "Findings",
    "Owner",
    "SourceFreshness",
    "findings_from_artifacts",
    "freshness_findings",
    "freshness_from",
    "freshness_from_artifacts",
    "history",
    "merge_findings",
    "send_alerts",
]
