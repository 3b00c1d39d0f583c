"""The nightly run's summary: the dict the flow returns, and the lines `bankwh run` and the run log print.

Kept apart from the flow so the wording of the report changes without touching the wiring, and so the CLI can print
a summary without importing the tasks.
"""

from __future__ import annotations

from typing import Any

from publishing import gate


def dbt_summary(build: gate.BuildResult) -> dict[str, Any]:
    """What the summary says about the dbt build: node counts by status and the tests and nodes that failed."""
    results = build.results
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {
        "nodes": len(results),
        "statuses": statuses,
        "invocation_id": build.invocation_id,
        "failed_tests": [r.name for r in gate.blocking(results) if r.is_test],
        "warned_tests": [r.name for r in gate.warnings(results)],
        "errored_nodes": [r.unique_id for r in gate.blocking(results) if not r.is_test],
    }


def freshness_summary(results: list[Any]) -> dict[str, Any]:
    """What the summary says about source freshness: source tables by dbt's verdict, and the stale ones."""
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {"statuses": statuses, "stale": [r.describe() for r in results if r.stale]}


def published_summary(stored: Any) -> dict[str, Any]:
    """The published night (a publishing.publish.PublishedRun) as the summary records it."""
    return {
        "run_id": stored.run_id,
        "schema": stored.schema,
        "published_at": stored.published_at.isoformat() if stored.published_at else None,
        "dlt_load_ids": stored.dlt_load_ids,
    }


def _ingest_line(name: str, info: dict[str, Any]) -> str:
    if name == "api":
        rows = info.get("rows", {})
        return f"  ingest api:   {', '.join(f'{t} {n}' for t, n in rows.items()) or 'nothing new'}"
    done = f"{info.get('files_loaded', 0)} file(s) loaded"
    if "files" in info:
        done += f" of {info['files']}"
    if info.get("files_skipped"):
        done += f", {info['files_skipped']} already loaded"
    if info.get("files_replaced"):
        done += f", {info['files_replaced']} replaced by a changed re-delivery"
    line = f"  ingest {name + ':':<6} {done}, {info.get('rows', 0)} rows, {info.get('quarantined', 0)} quarantined"
    return "\n".join([line, *(f"    quarantined whole: {q}" for q in info.get("files_quarantined", []))])


def format_summary(summary: dict[str, Any]) -> str:
    """The run summary as printed at the end of `bankwh run`: ingest counts, dbt gate, rows and Delta versions."""
    lines = [f"nightly run: {summary['status']}"]
    for name, info in summary.get("ingest", {}).items():
        lines.append(_ingest_line(name, info) if isinstance(info, dict) else f"  ingest {name}: {info}")
    dbt = summary.get("dbt")
    if dbt is not None:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(dbt.get("statuses", {}).items()))
        lines.append(
            f"  dbt build: {dbt['nodes']} nodes ({counts or 'none'}); {len(dbt['failed_tests'])} failed test(s), "
            f"{len(dbt['warned_tests'])} warning(s), {len(dbt['errored_nodes'])} errored node(s)"
        )
        lines += [f"    FAILED {t}" for t in dbt["failed_tests"]]
        lines += [f"    ERROR  {n}" for n in dbt["errored_nodes"]]
        lines += [f"    warn   {t}" for t in dbt["warned_tests"]]
    freshness = summary.get("freshness")
    if freshness is not None:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(freshness["statuses"].items()))
        lines.append(f"  source freshness: {counts or 'no source declares one'}")
        lines += [f"    stale  {line}" for line in freshness["stale"]]
    alerts = summary.get("alerts")
    if alerts:
        lines.append(
            f"  alerts: {alerts['new']} new, {alerts['ongoing']} still failing, {alerts['resolved']} resolved"
            + (f", {alerts['errors']} undelivered" if alerts["errors"] else "")
        )
    quality = summary.get("quality")
    if quality:
        unbalanced = f" ({', '.join(quality['unbalanced'])})" if quality.get("unbalanced") else ""
        lines.append(
            f"  quality: {quality['anomalies']} anomalies in {quality['points']} points checked; reconciliation "
            f"{quality['reconciliation_steps']} steps, unexplained difference {quality['unexplained_rows']} rows"
            + unbalanced
        )
    if summary.get("export"):
        lines.append(f"  Delta export to {summary.get('delta_root', '')}:")
    for row in summary.get("export", []):
        rewritten = f" ({row['partitions_rewritten']} partition(s))" if row["action"] == "incremental" else ""
        lines.append(
            f"    {row['mart']:<40} rows {row['rows']:>9}  Delta v{row['version']:<4} "
            f"{row['action'] + rewritten:<28} parity {'ok' if row['parity_ok'] else 'MISMATCH'}"
        )
    if summary.get("published"):
        pub = summary["published"]
        lines.append(f"  published: run {pub['run_id']} (schema {pub['schema']}) at {pub['published_at']}")
    elif summary.get("schema") and summary["status"] in ("built", "blocked"):
        lines.append(f"  not published: tonight's marts are in {summary['schema']}; readers keep the previous night")
    if summary.get("history"):
        recorded = ", ".join(f"{table} +{n}" for table, n in summary["history"].items())
        lines.append(f"  history (schema monitoring): {recorded}")
    if summary.get("report"):
        lines.append(f"  quality report: {summary['report']}")
    if summary.get("seconds"):
        lines.append("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items()))
    return "\n".join(lines)
