"""The publish gate: a night is published (PostgreSQL views and Delta Lake) only when dbt built every node and every
error-severity test passed.

Why a gate before the export and the switch of the views rather than after: readers of either store must keep the
previous night when tonight's fails, so a bad build must never reach them (see publishing/publish.py).
Warn-severity tests are reported but do not block (dbt gives them status `warn`, error-severity failures get `fail`).
Works on a live dbt result (`dbtRunnerResult`) and on a `target/run_results.json` file alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BLOCKING_TEST_STATUSES = {"fail", "error", "runtime error"}
BLOCKING_NODE_STATUSES = {"error", "runtime error"}
#: At most this many failing tests or nodes are named in the gate's message (the run log lists every one).
MOST_NAMED = 12


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str = ""

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.unique_id.split(".")[-1] if self.resource_type != "test" else self.unique_id.split(".")[2]

    @property
    def is_test(self) -> bool:
        return self.resource_type in ("test", "unit_test")


@dataclass(frozen=True)
class BuildResult:
    """What one `dbt build` gave the gate: every node's result and the invocation that produced them."""

    results: list[NodeResult]
    invocation_id: str | None = None


class PublishBlocked(RuntimeError):
    """dbt produced a failing error-severity test or a failed model: nothing is exported."""


def _status(value: Any) -> str:
    return str(getattr(value, "value", value)).lower()


def from_dbt_result(res) -> list[NodeResult]:
    """Node results of a `dbtRunnerResult` (as returned by PrefectDbtRunner.invoke)."""
    results = getattr(res.result, "results", None) or []
    return [NodeResult(r.node.unique_id, _status(r.status), str(r.message or "")) for r in results]


def invocation_id(res) -> str | None:
    """dbt's invocation id of a `dbtRunnerResult` (it names the build in run_results.json and dbt's logs)."""
    metadata = getattr(res.result, "metadata", None)
    return getattr(metadata, "invocation_id", None)


def from_run_results(path: Path) -> list[NodeResult]:
    """Node results of a dbt `run_results.json` artifact."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [NodeResult(r["unique_id"], _status(r["status"]), str(r.get("message") or "")) for r in data["results"]]


def blocking(results: list[NodeResult]) -> list[NodeResult]:
    """Failed error-severity tests and errored models, seeds or snapshots."""
    return [
        r
        for r in results
        if (r.is_test and r.status in BLOCKING_TEST_STATUSES) or (not r.is_test and r.status in BLOCKING_NODE_STATUSES)
    ]


def warnings(results: list[NodeResult]) -> list[NodeResult]:
    return [r for r in results if r.status == "warn"]


def check(results: list[NodeResult]) -> None:
    """Raise PublishBlocked naming every blocking node; return quietly when publishing may go on."""
    blockers = blocking(results)
    if not blockers:
        return
    tests = [r for r in blockers if r.is_test]
    nodes = [r for r in blockers if not r.is_test]
    parts = []
    if tests:
        parts.append(f"{len(tests)} failing error-severity test(s): " + _names([r.name for r in tests]))
    if nodes:
        parts.append(f"{len(nodes)} failed node(s): " + _names([r.unique_id for r in nodes]))
        # a failed node's own message names the cause (a lost database, a SQL error); the first one is enough
        first = next((r.message.strip().splitlines()[0] for r in nodes if r.message.strip()), "")
        if first:
            parts.append(f"first error: {first[:300]}")
    raise PublishBlocked("publish gate closed, the previous night stays published: " + "; ".join(parts))


def _names(names: list[str], most: int = MOST_NAMED) -> str:
    """The names, or the first `most` of them and how many more: one readable line even when every node failed."""
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"
