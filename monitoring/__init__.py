"""Quality monitoring of the warehouse: alerts on the nightly build's failures (more of issue 12 to come).

Depends on nothing of `orchestration`, `bankwh`, `publishing` or `ingest`: the flow hands it a DB-API connection,
the paths of dbt's artifacts and the run id.
"""

from .alerts import AlertOutcome, send_alerts
from .config import AlertConfig, AlertConfigError
from .findings import Finding, Findings, Owner, findings_from_artifacts

__all__ = [
    "AlertConfig",
    "AlertConfigError",
    "AlertOutcome",
    "Finding",
    "Findings",
    "Owner",
    "findings_from_artifacts",
    "send_alerts",
]
