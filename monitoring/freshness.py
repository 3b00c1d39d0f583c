"""Source freshness: what `dbt source freshness` measured, and the alert findings of the stale sources.

Read from dbt's own artifact (`sources.json`, beside `manifest.json` for the owners), like the build's findings, so
the same code serves the nightly flow and a freshness check run by hand.

A source that is stale past its `error_after` (or whose freshness dbt could not measure) is a failure: an alert to
its owners, grouped over nights and resolved by the first night it is fresh again, like a failing test. A source
past its `warn_after` only is a warning, logged like a test that warned. Neither blocks publication: the publish
gate is dbt's tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .findings import UNOWNED, Finding, Findings, Owner, owners_of

STALE_STATUSES = frozenset({"warn", "error", "runtime error"})
NEVER_LOADED_YEAR = 1  # dbt reports an empty table as loaded at 0001-01-01


@dataclass(frozen=True)
class SourceFreshness:
    """One source table's freshness on one night: dbt's verdict (pass, warn, error, runtime error) and its measure."""

    unique_id: str
    source_name: str
    table_name: str
    status: str
    max_loaded_at: datetime | None  # None when the table holds no row (or dbt could not measure)
    snapshotted_at: datetime | None
    age_seconds: float | None
    warn_after: str | None  # "2 day"
    error_after: str | None
    message: str
    owners: tuple[Owner, ...]
    invocation_id: str | None = None

    @property
    def stale(self) -> bool:
        return self.status in STALE_STATUSES

    def describe(self) -> str:
        """One line: which source, its verdict and why (age against the limits)."""
        if self.status == "runtime error":
            return f"{self.source_name}.{self.table_name}: freshness could not be measured: {self.message}"
        if self.max_loaded_at is None:
            seen = "never loaded (no row)"
        else:
            seen = f"last loaded {self.max_loaded_at:%Y-%m-%d %H:%M} UTC, {_days(self.age_seconds)} ago"
        limits = ", ".join(f"{k} after {v}" for k, v in (("warn", self.warn_after), ("error", self.error_after)) if v)
        return f"{self.source_name}.{self.table_name}: {self.status}: {seen} ({limits or 'no limit'})"


def freshness_from_artifacts(
    sources_path: Path | str, manifest_path: Path | str, default_owner: Owner = UNOWNED
) -> list[SourceFreshness]:
    """The results of one `dbt source freshness` from its `sources.json` and the `manifest.json` beside it."""
    sources = json.loads(Path(sources_path).read_text())
    manifest = json.loads(Path(manifest_path).read_text())
    return freshness_from(sources, manifest, default_owner)


def freshness_from(sources: dict, manifest: dict, default_owner: Owner = UNOWNED) -> list[SourceFreshness]:
    """The parsed artifacts as one SourceFreshness per source table dbt checked."""
    invocation = sources.get("metadata", {}).get("invocation_id")
    return [_result(r, manifest, default_owner, invocation) for r in sources.get("results", [])]


def _result(result: dict, manifest: dict, default_owner: Owner, invocation: str | None) -> SourceFreshness:
    unique_id = result["unique_id"]
    node = manifest.get("sources", {}).get(unique_id, {})
    criteria = result.get("criteria") or (node.get("freshness") or {})
    loaded = _timestamp(result.get("max_loaded_at"))
    never = loaded is not None and loaded.year == NEVER_LOADED_YEAR
    return SourceFreshness(
        unique_id=unique_id,
        source_name=node.get("source_name") or unique_id.split(".")[2],
        table_name=node.get("name") or unique_id.split(".")[-1],
        status=str(result.get("status")),
        max_loaded_at=None if never else loaded,
        snapshotted_at=_timestamp(result.get("snapshotted_at")),
        age_seconds=None if never else result.get("max_loaded_at_time_ago_in_s"),
        warn_after=_period(criteria.get("warn_after")),
        error_after=_period(criteria.get("error_after")),
        message=" ".join(str(result.get("error") or result.get("message") or "").split()),
        owners=owners_of(manifest, unique_id) or (default_owner,),
        invocation_id=invocation,
    )


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _period(limit: dict | None) -> str | None:
    """The limit as text, `2 day` for {"count": 2, "period": "day"}; None when the limit is not set."""
    if not limit or limit.get("count") is None or limit.get("period") is None:
        return None
    return f"{limit['count']} {limit['period']}"


def _days(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 86400:.1f} days"


def freshness_findings(results: Iterable[SourceFreshness]) -> Findings:
    """The alert findings of a freshness check: errors fail, warnings warn, and every measured source that is not
    in error counts as passed (so an open freshness alert resolves when the source is fresh again)."""
    failures, warnings, passed = [], [], set()
    invocation = None
    for r in results:
        invocation = invocation or r.invocation_id
        if r.status in ("pass", "warn"):
            passed.add(r.unique_id)
        if r.status == "warn":
            warnings.append(_finding(r))
        elif r.stale:
            failures.append(_finding(r))
    return Findings(tuple(failures), tuple(warnings), frozenset(passed), invocation)


def _finding(r: SourceFreshness) -> Finding:
    return Finding(
        unique_id=r.unique_id,
        name=f"{r.source_name}.{r.table_name} freshness",
        resource_type="source",
        status=r.status,
        failures=None,
        message=r.describe(),
        owners=r.owners,
    )


def merge_findings(first: Findings, second: Findings) -> Findings:
    """One night's findings from two dbt invocations (the build and the freshness check), alerted as one."""
    return Findings(
        failures=first.failures + second.failures,
        warnings=first.warnings + second.warnings,
        passed=first.passed | second.passed,
        invocation_id=first.invocation_id or second.invocation_id,
    )
