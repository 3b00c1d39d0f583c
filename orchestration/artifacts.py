"""What a night leaves in the Prefect UI (the Artifacts tab and each run's page): a Markdown summary of the night and
a link to its quality report; for the dbt build, a Markdown summary by layer with the failures first.

Why Markdown built here and not the log: the run log scrolls past with everything else, an artifact stays on the
run's page, keyed (`nightly-summary`, `quality-report`, `dbt-build-summary`) so the Artifacts tab also shows how each
one changed night after night. The texts are plain functions of the run's summary, so they are tested without a
server; `publish_*` only hand them to Prefect.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

#: Artifact keys (Prefect: lowercase letters, digits and dashes).
NIGHT_KEY = "nightly-summary"
REPORT_KEY = "quality-report"
DBT_KEY = "dbt-build-summary"
#: Rows of the longest tables an artifact lists before saying how many more there are.
MOST_LISTED = 50


def _cell(value: Any) -> str:
    """A value as one Markdown table cell: one line, pipes escaped, long messages cut."""
    text = " ".join(str("" if value is None else value).split()).replace("|", "\\|")
    return text if len(text) <= 240 else text[:237] + "..."


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:MOST_LISTED]]
    if len(rows) > MOST_LISTED:
        lines.append(f"\n... and {len(rows) - MOST_LISTED} more")
    return lines


def failures_with_owners(target_dir: str | Path | None) -> tuple[list[Any], list[Any]]:
    """The build's failing and warning nodes with their owners (monitoring.findings), from dbt's artifacts in
    `target_dir`; empty when the build wrote none."""
    from monitoring import findings_from_artifacts

    target = Path(target_dir) if target_dir else None
    if target is None or not (target / "run_results.json").is_file() or not (target / "manifest.json").is_file():
        return [], []
    findings = findings_from_artifacts(target / "run_results.json", target / "manifest.json")
    return list(findings.failures), list(findings.warnings)


def _owners(finding: Any) -> str:
    return ", ".join(owner.label() for owner in finding.owners) or "unowned"


def night_markdown(summary: dict[str, Any], failures: list[Any] = (), warnings: list[Any] = ()) -> str:
    """The night as Markdown: verdict, rows and Delta version per mart, failed tests with their owners, ingest,
    reconciliation (when the quality checks produced one), and where the time went."""
    status = summary.get("status", "unknown")
    verdict = {
        "published": "published: readers see tonight's marts",
        "blocked": "blocked by the publish gate: readers keep the previous night",
        "built": "built and tested, not published (--no-export)",
        "exported": "the published marts re-exported to Delta",
    }.get(status, status)
    lines = [f"# Nightly run: {verdict}", ""]
    published = summary.get("published")
    if published:
        lines.append(f"Run `{published['run_id']}`, schema `{published['schema']}`, at {published['published_at']}.")
    elif summary.get("schema"):
        lines.append(f"Tonight's marts are in schema `{summary['schema']}`.")
    dbt = summary.get("dbt")
    if dbt:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(dbt.get("statuses", {}).items()))
        lines += ["", f"dbt build: {dbt['nodes']} nodes ({counts}), invocation `{dbt.get('invocation_id')}`."]

    lines += ["", "## Failed tests and nodes"]
    if failures:
        lines += _table(["node", "status", "owners", "failures", "message"],
                        [[f.unique_id, f.status, _owners(f), f.failures, f.message] for f in failures])  # fmt: skip
    elif dbt and (dbt.get("failed_tests") or dbt.get("errored_nodes")):
        lines += [f"- {name}" for name in [*dbt["failed_tests"], *dbt["errored_nodes"]]]
    else:
        lines.append("None." if dbt else "No dbt build tonight.")
    if warnings:
        lines += ["", f"Warnings ({len(warnings)}, they do not block publication):", ""]
        lines += _table(["node", "owners", "message"], [[w.unique_id, _owners(w), w.message] for w in warnings])

    lines += ["", "## Marts: rows and Delta versions"]
    exported = summary.get("export") or []
    if exported:
        lines += _table(
            ["mart", "rows", "Delta version", "action", "parity"],
            [[r["mart"], f"{r['rows']:,}", r["version"], r["action"], "ok" if r["parity_ok"] else "MISMATCH"]
             for r in exported],
        )  # fmt: skip
        if summary.get("delta_root"):
            lines.append(f"\nDelta root: `{summary['delta_root']}`")
    else:
        lines.append("Not exported tonight: Delta keeps the published night's versions.")

    quality = summary.get("quality")
    if quality:
        lines += ["", "## Reconciliation and anomalies", *_quality_lines(quality)]

    ingest = summary.get("ingest") or {}
    if ingest:
        lines += ["", "## Ingest"]
        lines += _table(["source", "files loaded", "rows", "quarantined"],
                        [[name, info.get("files_loaded", "-"), _rows(info.get("rows")), info.get("quarantined", "-")]
                         for name, info in ingest.items() if isinstance(info, dict)])  # fmt: skip
    if summary.get("seconds"):
        lines += ["", "Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items())]
    if summary.get("report"):
        lines += ["", f"Quality report: `{summary['report']}`"]
    return "\n".join(lines) + "\n"


def _rows(value: Any) -> str:
    if isinstance(value, dict):  # the API's rows per table
        return ", ".join(f"{table} {n}" for table, n in value.items()) or "0"
    return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "-")


def _quality_lines(quality: dict[str, Any]) -> list[str]:
    """The quality checks' results (orchestration/quality.py) as lines: scalars as a list, lists of rows as tables."""
    lines: list[str] = []
    for key, value in quality.items():
        label = key.replace("_", " ")
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            header = list(dict.fromkeys(k for row in value for k in row))
            lines += ["", f"{label}:", "", *_table(header, [[row.get(k) for k in header] for row in value])]
        elif isinstance(value, dict):
            lines.append(f"- {label}: " + (", ".join(f"{k} {v}" for k, v in value.items()) or "none"))
        elif isinstance(value, list):
            lines.append(f"- {label}: " + (", ".join(map(str, value)) or "none"))
        else:
            lines.append(f"- {label}: {value}")
    return lines


def publish_night(summary: dict[str, Any], target_dir: str | Path | None) -> None:
    """The night's Markdown summary and the link to its quality report, as artifacts of the running flow.

    Why it never fails the night: the artifacts describe the night; a Prefect API that refuses one must not turn
    a published night into a failed run. The error is logged.
    """
    from prefect import get_run_logger

    try:
        _publish_night(summary, target_dir)
    except Exception as exc:
        get_run_logger().warning("artifacts: the night's summary was not published: %s: %s", type(exc).__name__, exc)


def _publish_night(summary: dict[str, Any], target_dir: str | Path | None) -> None:
    from prefect.artifacts import create_link_artifact, create_markdown_artifact

    failures, warnings = failures_with_owners(target_dir) if summary.get("dbt") else ([], [])
    create_markdown_artifact(
        key=NIGHT_KEY,
        markdown=night_markdown(summary, failures, warnings),
        description=f"nightly run: {summary.get('status')}",
    )
    report = summary.get("report")
    if report:
        path = Path(report).resolve()
        create_link_artifact(
            key=REPORT_KEY,
            link=path.as_uri(),
            link_text=f"quality report: {path}",
            description="the static HTML quality report of the last nights (open the file on the machine that ran "
            "the night)",
        )


# --- the dbt build ----------------------------------------------------------------------------------------------


def layer_of(manifest: dict[str, Any], unique_id: str) -> str:
    """The layer a node belongs to, as the UI groups the build: the model folder under models/ (staging,
    intermediate, marts), snapshots, seeds, sources; a test belongs to the layer of what it tests."""
    kind = unique_id.split(".", 1)[0]
    if kind == "source":
        return "sources"
    if kind in ("seed", "snapshot"):
        return kind + "s"
    node = (manifest.get("nodes") or {}).get(unique_id) or (manifest.get("unit_tests") or {}).get(unique_id) or {}
    if kind in ("test", "unit_test"):
        tested = node.get("attached_node") or next(iter((node.get("depends_on") or {}).get("nodes") or []), None)
        return layer_of(manifest, tested) if tested and not tested.startswith(("test.", "unit_test.")) else "tests"
    fqn = node.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else "models"


def dbt_markdown(nodes: list[dict[str, Any]], manifest: dict[str, Any], failures: list[Any], seconds: float) -> str:
    """The build as Markdown: one line per layer (nodes by status, time), the failures with their owners first, then
    warnings and the slowest nodes. `nodes` are transform.DbtProgress's rows."""
    ok = {"success", "pass"}
    by_layer: dict[str, Counter] = defaultdict(Counter)
    layer_seconds: dict[str, float] = defaultdict(float)
    for node in nodes:
        layer = layer_of(manifest, node["node"])
        status = node["status"]
        by_layer[layer]["nodes"] += 1
        by_layer[layer]["ok" if status in ok else status] += 1
        layer_seconds[layer] += node["seconds"]
    failed = [n for n in nodes if n["status"] in ("error", "fail", "runtime error")]
    warned = [n for n in nodes if n["status"] == "warn"]
    title = f"# dbt build: {len(nodes)} nodes in {seconds:.1f} s, {len(failed)} failed, {len(warned)} warned"
    order = ["seeds", "snapshots", "sources", "staging", "intermediate", "marts"]
    layers = sorted(by_layer, key=lambda name: (order.index(name) if name in order else len(order), name))
    lines = [title, ""]
    lines += _table(
        ["layer", "nodes", "ok", "failed", "warned", "skipped", "node seconds"],
        [[name, by_layer[name]["nodes"], by_layer[name]["ok"],
          by_layer[name]["error"] + by_layer[name]["fail"] + by_layer[name]["runtime error"], by_layer[name]["warn"],
          by_layer[name]["skipped"], f"{layer_seconds[name]:.1f}"] for name in layers],
    )  # fmt: skip
    lines += ["", "## Failed (blocks publication)"]
    if failures:
        lines += _table(["node", "status", "owners", "message"],
                        [[f.unique_id, f.status, _owners(f), f.message] for f in failures])  # fmt: skip
    elif failed:
        lines += _table(["node", "status", "message"], [[n["node"], n["status"], n["message"]] for n in failed])
    else:
        lines.append("None.")
    if warned:
        lines += ["", "## Warnings", *_table(["node", "message"], [[n["node"], n["message"]] for n in warned])]
    slowest = sorted(nodes, key=lambda n: -n["seconds"])[:10]
    lines += ["", "## Slowest nodes", *_table(["node", "seconds"], [[n["node"], n["seconds"]] for n in slowest])]
    lines.append("\nEvery node with its status and time: the table artifact `dbt-build-nodes`.")
    return "\n".join(lines) + "\n"


def read_manifest(target_dir: str | Path | None) -> dict[str, Any]:
    path = Path(target_dir) / "manifest.json" if target_dir else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else {}


def publish_dbt(
    nodes: list[dict[str, Any]], target_dir: str | Path | None, seconds: float, failures: list[Any]
) -> None:
    """The build's Markdown summary, an artifact of the running dbt-build subflow."""
    from prefect.artifacts import create_markdown_artifact

    failed = sum(n["status"] in ("error", "fail", "runtime error") for n in nodes)
    create_markdown_artifact(
        key=DBT_KEY,
        markdown=dbt_markdown(nodes, read_manifest(target_dir), failures, seconds),
        description=f"dbt build: {len(nodes)} nodes, {failed} failed",
    )
