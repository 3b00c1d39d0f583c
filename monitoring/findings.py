"""What went wrong in one `dbt build`, and whom it concerns, read from dbt's own artifacts.

The artifacts (`run_results.json` for the verdicts, `manifest.json` for the graph and the declarations) are the
record dbt writes on every build, failed or not, so alerts need no access to dbt's Python objects and work the same
for a build run by the nightly flow, by `bankwh build` or by hand.

Owners are what the project declares in dbt, read in this order for the failing node:

1. `meta.owner` (a name) and `meta.owner_email` on the node itself (a source table: or on its source; every source
   and seed of the project declares one);
2. for a test: the owners of what it tests (`attached_node`, or every node in its `depends_on`), so a test on a
   model with its own `meta.owner` reaches that owner rather than the group it inherits;
3. the owner (`name`, `email`) of the dbt group the node belongs to (`group:` config, groups in `models/_groups.yml`);
4. the default owner the caller gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAILING_TEST_STATUSES = frozenset({"fail", "error"})
PASSING_STATUSES = frozenset({"success", "pass", "warn"})  # a warning is not a failure: it closes an open alert
MANIFEST_SECTIONS = ("nodes", "sources", "unit_tests", "snapshots", "seeds")


@dataclass(frozen=True, order=True)
class Owner:
    """Who answers for a node: a name, and the address alerts are e-mailed to when one is declared."""

    name: str
    email: str | None = None

    def label(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


UNOWNED = Owner("unowned")


@dataclass(frozen=True)
class Finding:
    """One node of the build that failed (or warned), with everything an alert has to say about it."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    failures: int | None
    message: str
    owners: tuple[Owner, ...]


@dataclass(frozen=True)
class Findings:
    """The verdicts of one build: what failed, what warned, and which nodes ran and passed (to close alerts)."""

    failures: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    passed: frozenset[str]
    invocation_id: str | None = None


def findings_from_artifacts(
    run_results_path: Path | str, manifest_path: Path | str, default_owner: Owner = UNOWNED
) -> Findings:
    """Read the findings of one `dbt build` from its `run_results.json` and `manifest.json`."""
    run_results = json.loads(Path(run_results_path).read_text())
    manifest = json.loads(Path(manifest_path).read_text())
    return findings_from(run_results, manifest, default_owner)


def findings_from(run_results: dict, manifest: dict, default_owner: Owner = UNOWNED) -> Findings:
    """The findings of parsed artifacts: failing tests, erroring models (or seeds, snapshots), warnings, passes."""
    failures, warnings, passed = [], [], set()
    for result in run_results["results"]:
        unique_id, status = result["unique_id"], str(result["status"])
        if status in PASSING_STATUSES:
            passed.add(unique_id)
        if status == "warn":
            warnings.append(_finding(result, manifest, default_owner))
        elif _is_failure(unique_id, status):
            failures.append(_finding(result, manifest, default_owner))
    return Findings(
        failures=tuple(failures),
        warnings=tuple(warnings),
        passed=frozenset(passed),
        invocation_id=run_results.get("metadata", {}).get("invocation_id"),
    )


def _is_failure(unique_id: str, status: str) -> bool:
    """Tests fail or error; models, seeds and snapshots only error (`skipped` is neither: it tells nothing)."""
    if unique_id.split(".", 1)[0] in ("test", "unit_test"):
        return status in FAILING_TEST_STATUSES
    return status == "error"


def _finding(result: dict, manifest: dict, default_owner: Owner) -> Finding:
    unique_id = result["unique_id"]
    node = manifest_node(manifest, unique_id) or {}
    return Finding(
        unique_id=unique_id,
        name=node.get("name") or unique_id.split(".")[2],
        resource_type=node.get("resource_type") or unique_id.split(".", 1)[0],
        status=str(result["status"]),
        failures=result.get("failures"),
        message=" ".join((result.get("message") or "").split()),
        owners=owners_of(manifest, unique_id) or (default_owner,),
    )


def manifest_node(manifest: dict, unique_id: str) -> dict | None:
    """The manifest entry of a node, source, unit test, snapshot or seed; None when the manifest has none."""
    for section in MANIFEST_SECTIONS:
        node = manifest.get(section, {}).get(unique_id)
        if node is not None:
            return node
    return None


def owners_of(manifest: dict, unique_id: str) -> tuple[Owner, ...]:
    """The declared owners of a node (see the module's docstring for the order); empty when none is declared."""
    node = manifest_node(manifest, unique_id)
    if node is None:
        return ()
    declared = _meta_owner(node)
    if declared:
        return (declared,)
    if node.get("resource_type") in ("test", "unit_test"):
        tested = _owners_of_parents(manifest, node)
        if tested:
            return tested
    grouped = _group_owner(manifest, node)
    return (grouped,) if grouped else ()


def _meta_owner(node: dict[str, Any]) -> Owner | None:
    """The owner in the node's meta; a source table without one of its own takes its source's (`source_meta`, the
    meta written on the source rather than under its config, which dbt does not pass down to the tables)."""
    meta = {**(node.get("source_meta") or {}), **(node.get("meta") or {}),
            **((node.get("config") or {}).get("meta") or {})}  # fmt: skip
    owner = meta.get("owner")
    return Owner(str(owner), meta.get("owner_email")) if owner else None


def _owners_of_parents(manifest: dict, node: dict) -> tuple[Owner, ...]:
    attached = node.get("attached_node")
    parents = [attached] if attached else node.get("depends_on", {}).get("nodes", [])
    found: set[Owner] = set()
    for parent in parents:
        found.update(owners_of(manifest, parent))
    return tuple(sorted(found))


def _group_owner(manifest: dict, node: dict) -> Owner | None:
    group = node.get("group") or (node.get("config") or {}).get("group")
    if not group:
        return None
    declared = manifest.get("groups", {}).get(f"group.{node.get('package_name')}.{group}", {}).get("owner") or {}
    name = declared.get("name") or declared.get("email")
    return Owner(str(name), declared.get("email")) if name else None
