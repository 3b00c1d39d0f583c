"""The open alerts, kept in PostgreSQL so that consecutive nights can be told apart from a new failure.

`monitoring.alert_state` holds one row per failure that is still open, keyed by the node's unique_id: when it was
first and last seen (run id and time) and for how many nights. Each night is compared with it in one transaction:

- a failure with no open row opens one (nights = 1): a *new* alert;
- a failure with an open row counts one more night (only when the run id is another one, so re-sending the alerts
  of the same run counts nothing twice): an *ongoing* alert that carries the count;
- an open row whose node ran and passed tonight is deleted: a *resolved* alert;
- an open row whose node did not run tonight (a selection, or skipped after an upstream failure) stays as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .findings import Finding, Findings, Owner

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

TABLE = "monitoring.alert_state"
# One night's alerts at a time: two runs comparing with the table at once would both open the same key.
LOCK_SQL = "select pg_advisory_xact_lock(hashtext('monitoring.alert_state'))"
DDL = f"""
create schema if not exists monitoring;
create table if not exists {TABLE} (
    alert_key text primary key,
    name text not null,
    resource_type text not null,
    owners jsonb not null,
    first_seen_run_id text not null,
    first_seen timestamptz not null,
    last_seen_run_id text not null,
    last_seen timestamptz not null,
    nights integer not null check (nights >= 1)
);
comment on table {TABLE} is
    'Open alerts of the nightly dbt build (monitoring/alert_state.py): one row per failing node until it passes.';
"""


@dataclass(frozen=True)
class AlertEvent:
    """What one night says about one alert key: `new`, `ongoing` (with its night count) or `resolved`."""

    kind: str
    key: str
    name: str
    resource_type: str
    owners: tuple[Owner, ...]
    nights: int
    first_seen_run_id: str
    finding: Finding | None = None  # None for `resolved`: nothing failed tonight


def record_night(conn: Connection, run_id: str, findings: Findings) -> list[AlertEvent]:
    """Compare tonight's findings with the open alerts, update the table, and say what changed (committed here)."""
    if conn.autocommit:
        raise ValueError("record_night needs a connection in a transaction (autocommit off): it locks the table")
    with conn, conn.cursor() as cur:
        cur.execute(DDL)
        cur.execute(LOCK_SQL)
        open_alerts = _open_alerts(cur)
        events = [_record_failure(cur, run_id, f, open_alerts.get(f.unique_id)) for f in findings.failures]
        failing = {f.unique_id for f in findings.failures}
        for key in sorted(set(open_alerts) & findings.passed - failing):
            events.append(_resolve(cur, open_alerts[key]))
    return events


def _open_alerts(cur) -> dict[str, dict]:
    cur.execute(
        f"select alert_key, name, resource_type, owners, first_seen_run_id, last_seen_run_id, nights from {TABLE}"
    )
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def _record_failure(cur, run_id: str, finding: Finding, open_row: dict | None) -> AlertEvent:
    owners = json.dumps([[o.name, o.email] for o in finding.owners])
    if open_row is None:
        cur.execute(
            f"insert into {TABLE} (alert_key, name, resource_type, owners, first_seen_run_id, first_seen, "
            "last_seen_run_id, last_seen, nights) values (%s, %s, %s, %s::jsonb, %s, now(), %s, now(), 1)",
            (finding.unique_id, finding.name, finding.resource_type, owners, run_id, run_id),
        )
        return _event("new", finding, 1, run_id)
    nights = open_row["nights"] + (open_row["last_seen_run_id"] != run_id)
    cur.execute(
        f"update {TABLE} set name = %s, resource_type = %s, owners = %s::jsonb, last_seen_run_id = %s, "
        "last_seen = now(), nights = %s where alert_key = %s",
        (finding.name, finding.resource_type, owners, run_id, nights, finding.unique_id),
    )
    first_run = open_row["first_seen_run_id"]
    return _event("new" if first_run == run_id else "ongoing", finding, nights, first_run)


def _event(kind: str, finding: Finding, nights: int, first_seen_run_id: str) -> AlertEvent:
    return AlertEvent(
        kind=kind,
        key=finding.unique_id,
        name=finding.name,
        resource_type=finding.resource_type,
        owners=finding.owners,
        nights=nights,
        first_seen_run_id=first_seen_run_id,
        finding=finding,
    )


def _resolve(cur, row: dict) -> AlertEvent:
    cur.execute(f"delete from {TABLE} where alert_key = %s", (row["alert_key"],))
    return AlertEvent(
        kind="resolved",
        key=row["alert_key"],
        name=row["name"],
        resource_type=row["resource_type"],
        owners=tuple(Owner(name, email) for name, email in row["owners"]),
        nights=row["nights"],
        first_seen_run_id=row["first_seen_run_id"],
    )
