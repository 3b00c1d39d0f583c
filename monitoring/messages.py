"""The words of an alert: one line per alert event, one message per recipient, and who receives what.

Every line names the node, its owners and its unique_id, so that the same text serves the log, an e-mail and a chat
channel, and a reader can go from the line to `dbt build --select <name>` without opening anything else.
"""

from __future__ import annotations

from .alert_state import AlertEvent
from .findings import Finding, Owner

MAX_DBT_MESSAGE = 300  # a model's database error can run to pages; the log of the build keeps the whole of it


def event_line(event: AlertEvent, run_id: str) -> str:
    """One line for one alert event: new, still failing with its count, or resolved."""
    subject = f"{event.resource_type} {event.name} owned by {_owners(event.owners)}"
    if event.kind == "resolved":
        return f"RESOLVED after {_nights(event.nights)}: {subject}; passed in run {run_id} [{event.key}]"
    assert event.finding is not None, event
    detail = f"{subject} ({_verdict(event.finding)}): {_dbt_message(event.finding)} [{event.key}]"
    if event.kind == "new":
        return f"NEW FAILURE: {detail}"
    return f"STILL FAILING for {_nights(event.nights)} (since run {event.first_seen_run_id}): {detail}"


def warning_line(finding: Finding) -> str:
    """One line for a test that warned: logged, not e-mailed (soft expectations warn by design)."""
    return (
        f"WARNING: {finding.resource_type} {finding.name} owned by {_owners(finding.owners)} "
        f"({_verdict(finding)}): {_dbt_message(finding)} [{finding.unique_id}]"
    )


def subject_line(events: list[AlertEvent], run_id: str) -> str:
    """The e-mail subject: the run and how many alerts of each kind the message holds."""
    counts = {kind: sum(e.kind == kind for e in events) for kind in ("new", "ongoing", "resolved")}
    parts = [f"{counts['new']} new", f"{counts['ongoing']} still failing", f"{counts['resolved']} resolved"]
    return f"Bank warehouse alerts, run {run_id}: " + ", ".join(p for p in parts if not p.startswith("0 "))


def message_text(events: list[AlertEvent], run_id: str, invocation_id: str | None) -> str:
    """The body of one e-mail or webhook post: a heading and one line per event."""
    invocation = f" (dbt invocation {invocation_id})" if invocation_id else ""
    heading = f"Bank warehouse: alerts of run {run_id}{invocation}"
    return "\n".join([heading, "", *(event_line(e, run_id) for e in events)])


def recipients(events: list[AlertEvent], always: tuple[str, ...]) -> dict[str, list[AlertEvent]]:
    """Recipient -> the events it receives: the `always` addresses every event, each owner's address its own."""
    routed: dict[str, list[AlertEvent]] = {}
    for event in events:
        addresses = [*always, *(o.email for o in event.owners if o.email)]
        for address in dict.fromkeys(a.lower() for a in addresses):
            routed.setdefault(address, []).append(event)
    return routed


def _owners(owners: tuple[Owner, ...]) -> str:
    return ", ".join(o.label() for o in owners)


def _nights(n: int) -> str:
    return f"{n} night" if n == 1 else f"{n} nights"


def _verdict(finding: Finding) -> str:
    if finding.failures is None or finding.status == "error":
        return finding.status
    return f"{finding.failures} failing row" + ("" if finding.failures == 1 else "s")


def _dbt_message(finding: Finding) -> str:
    text = finding.message or "no message"
    return text if len(text) <= MAX_DBT_MESSAGE else text[: MAX_DBT_MESSAGE - 1] + "…"
