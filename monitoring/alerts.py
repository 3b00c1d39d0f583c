"""Alerts of the nightly build: every finding to the log, and to e-mail and a webhook when they are configured.

The nightly flow calls `send_alerts` after `dbt build`, with the findings read from the build's artifacts
(`findings_from_artifacts(target/run_results.json, target/manifest.json)`), the run's id and
`AlertConfig.from_env()`. Grouping: a failure is announced as NEW on its first night; each following night it is
still failing, the night's message carries it once as STILL FAILING with its night count (never as a second new
alert); the first night its node runs and passes, one RESOLVED closes it. Warnings are logged only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .alert_state import AlertEvent, record_night
from .config import AlertConfig
from .findings import Findings
from .messages import event_line, message_text, recipients, subject_line, warning_line
from .senders import post_webhook, send_emails

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

log = logging.getLogger("bankwh.alerts")


@dataclass(frozen=True)
class AlertOutcome:
    """What one night's alerts did: the events by kind, who was reached, and what could not be delivered."""

    run_id: str
    events: tuple[AlertEvent, ...]
    warnings: int
    emailed: tuple[str, ...] = ()
    webhook_posted: bool = False
    errors: tuple[str, ...] = field(default_factory=tuple)

    def keys(self, kind: str) -> list[str]:
        """The unique_ids of the events of one kind (`new`, `ongoing`, `resolved`)."""
        return [e.key for e in self.events if e.kind == kind]


def send_alerts(conn: Connection, run_id: str, findings: Findings, config: AlertConfig | None = None) -> AlertOutcome:
    """Record tonight's findings in `monitoring.alert_state`, log each, and send the night's alerts.

    `conn` is a psycopg2 connection with autocommit off (the state is committed here); `config` defaults to the
    environment's. Delivery errors are logged and returned in the outcome, not raised: a broken mail server must
    not turn a published night into a failed one.
    """
    config = config or AlertConfig.from_env()
    events = record_night(conn, run_id, findings)
    _log(events, findings, run_id)
    if not events:
        return AlertOutcome(run_id=run_id, events=(), warnings=len(findings.warnings))
    routed = recipients(events, config.smtp_to)
    emails = {to: (subject_line(mine, run_id), message_text(mine, run_id, findings.invocation_id))
              for to, mine in routed.items()}  # fmt: skip
    emailed, errors = send_emails(config, emails)
    webhook_error = post_webhook(config, message_text(events, run_id, findings.invocation_id))
    errors += [webhook_error] if webhook_error else []
    for error in errors:
        log.error("alert delivery: %s", error)
    return AlertOutcome(
        run_id=run_id,
        events=tuple(events),
        warnings=len(findings.warnings),
        emailed=tuple(emailed),
        webhook_posted=bool(config.webhook_url) and webhook_error is None,
        errors=tuple(errors),
    )


def _log(events: list[AlertEvent], findings: Findings, run_id: str) -> None:
    """One log line per alert event and per warning, whatever else is configured."""
    for event in events:
        log.log(logging.INFO if event.kind == "resolved" else logging.ERROR, "%s", event_line(event, run_id))
    for finding in findings.warnings:
        log.warning("%s", warning_line(finding))
