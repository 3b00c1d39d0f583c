"""The report's charts: plotly figures from the rows of queries.py, one function per chart.

Each function returns a figure, or None when there is nothing to draw, and the page says why instead. Colours
carry meaning and are the same on every chart: green passed, amber warned, red failed, dark red errored.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from .queries import VOLUME_METRICS, Night

STATUS_COLOURS = {
    "pass": "#2e7d32",
    "success": "#2e7d32",
    "warn": "#f9a825",
    "fail": "#c62828",
    "error": "#7f0000",
    "runtime error": "#7f0000",
    "skipped": "#9e9e9e",
}
RED = "#c62828"
PALETTE = qualitative.D3
STATUS_ORDER = ("pass", "warn", "fail", "error", "runtime error", "skipped")
#: Files with the most rejected rows shown on the by-file chart.
TOP_FILES = 20
LAYOUT = dict(template="plotly_white", height=420, margin=dict(l=60, r=20, t=30, b=60), legend=dict(orientation="h"))


def _statuses(present: set[str]) -> list[str]:
    return [s for s in STATUS_ORDER if s in present] + sorted(present - set(STATUS_ORDER))


def test_results(rows: list[dict[str, Any]], nights: list[Night]) -> go.Figure | None:
    """Stacked bars: per night, the tests that passed, warned, failed or errored; a night that did not publish is
    marked under its bar."""
    if not rows:
        return None
    counts: dict[tuple[str, str], dict[str, Any]] = {(r["run_id"], r["status"]): r for r in rows}
    labels = [f"{n.label}<br>{'published' if n.published else '<b>not published</b>'}" for n in nights]
    fig = go.Figure()
    for status in _statuses({r["status"] for r in rows}):
        cells = [counts.get((n.run_id, status)) for n in nights]
        fig.add_bar(
            name=status,
            x=labels,
            y=[c["tests"] if c else 0 for c in cells],
            marker_color=STATUS_COLOURS.get(status, "#546e7a"),
            hovertext=["" if c is None or status == "pass" else c["names"] for c in cells],
            hovertemplate=f"%{{y}} {status}<br>%{{hovertext}}<extra></extra>",
        )
    # a handful of failures on top of hundreds of passing tests is a sliver: name the count above the bar
    for n, label in zip(nights, labels, strict=True):
        bad = sum(counts[(n.run_id, s)]["tests"] for s in ("fail", "error") if (n.run_id, s) in counts)
        if bad:
            total = sum(r["tests"] for r in rows if r["run_id"] == n.run_id)
            fig.add_annotation(x=label, y=total, text=f"{bad} failed", showarrow=False, yshift=10,
                               font=dict(color=RED))  # fmt: skip
    fig.update_layout(barmode="stack", yaxis_title="dbt tests", **LAYOUT)
    return fig


def volumes(rows: list[dict[str, Any]]) -> go.Figure | None:
    """One panel per volume metric (count, amount): a line per segment (the totals drawn, the others one click away
    in the legend), the expected range of the trailing window as a band, the days the check flagged as red
    crosses."""
    if not rows:
        return None
    metrics = sorted({r["metric"] for r in rows}, key=lambda m: (not m.startswith(VOLUME_METRICS[0]), m))
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, subplot_titles=metrics, vertical_spacing=0.08)
    series: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        series[(r["metric"], r["segment"] or "all")].append(r)
    segments = {segment for _, segment in series}
    order = sorted(segments)
    anomaly_shown = False
    for (metric, segment), points in sorted(series.items()):
        row = metrics.index(metric) + 1
        points.sort(key=lambda p: p["day"])
        days = [p["day"] for p in points]
        group, first = segment, row == 1  # one legend entry per segment; a click toggles it in every panel
        colour = PALETTE[order.index(segment) % len(PALETTE)]  # the same segment, the same colour in every panel
        if any(p["expected_low"] is not None for p in points):
            fig.add_scatter(x=days, y=[p["expected_high"] for p in points], mode="lines", line_width=0,
                            legendgroup=group, showlegend=False, hoverinfo="skip", row=row, col=1,
                            visible=_shown(segment, segments))  # fmt: skip
            fig.add_scatter(x=days, y=[p["expected_low"] for p in points], mode="lines", line_width=0,
                            fill="tonexty", fillcolor="rgba(100,100,100,0.12)", legendgroup=group, showlegend=False,
                            hoverinfo="skip", row=row, col=1, visible=_shown(segment, segments))  # fmt: skip
        fig.add_scatter(x=days, y=[p["value"] for p in points], mode="lines+markers", marker_size=4,
                        name=segment, legendgroup=group, showlegend=first, row=row, col=1, line_color=colour,
                        marker_color=colour,
                        visible=_shown(segment, segments),
                        customdata=[[p["expected_low"], p["expected_high"]] for p in points],
                        hovertemplate=f"{segment} %{{x}}: %{{y}} (expected %{{customdata[0]}}–%{{customdata[1]}})"
                                      "<extra></extra>")  # fmt: skip
        flagged = [p for p in points if p["is_anomaly"]]
        if flagged:
            fig.add_scatter(x=[p["day"] for p in flagged], y=[p["value"] for p in flagged], mode="markers",
                            marker=dict(symbol="x", size=12, color=RED), name="anomaly", legendgroup="anomaly",
                            showlegend=not anomaly_shown, row=row, col=1)  # fmt: skip
            anomaly_shown = True
    # the axis follows the values, not the band: a spike tolerance of 50x the median would flatten every line
    for row, metric in enumerate(metrics, start=1):
        top = max(max(r["value"] or 0, r["expected_low"] or 0) for r in rows if r["metric"] == metric)
        fig.update_yaxes(range=[0, float(top) * 1.25 or 1], row=row, col=1)
    fig.update_layout(**{**LAYOUT, "height": 300 * len(metrics) + 80})
    return fig


def _shown(segment: str, segments: set[str]) -> bool | str:
    """Totals are drawn; the per-channel and per-product lines wait in the legend (a click shows them) unless there
    are only a few series, so the chart stays readable. Anomaly crosses are drawn for every segment."""
    totals = {s for s in segments if s == "all" or s.endswith(" all")}
    return True if len(segments) <= 4 or not totals or segment in totals else "legendonly"


def rejected_by_reason(rows: list[dict[str, Any]]) -> go.Figure | None:
    """Horizontal bars: rows held back per reason, split by origin (a source's staging checks or an ingest's
    quarantine)."""
    if not rows:
        return None
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        totals[(f"{r['origin']}: {r['reason']}", r["kind"])] += r["rows"]
    reasons = sorted({reason for reason, _ in totals}, key=lambda x: sum(v for (r, _), v in totals.items() if r == x))
    fig = go.Figure()
    for kind, colour in (("rejected by dbt", "#ef6c00"), ("quarantined at ingest", "#6a1b9a")):
        if any(k == kind for _, k in totals):
            fig.add_bar(name=kind, orientation="h", y=reasons, x=[totals.get((r, kind), 0) for r in reasons],
                        marker_color=colour)  # fmt: skip
    fig.update_layout(barmode="stack", xaxis_title="rows", yaxis_automargin=True,
                      **{**LAYOUT, "height": 160 + 24 * len(reasons)})  # fmt: skip
    return fig


def rejected_by_file(rows: list[dict[str, Any]]) -> go.Figure | None:
    """Horizontal bars: the TOP_FILES files with the most rows held back, split by reason."""
    if not rows:
        return None
    per_file: dict[str, int] = defaultdict(int)
    for r in rows:
        per_file[r["file"]] += r["rows"]
    files = sorted(per_file, key=lambda f: (per_file[f], f))[-TOP_FILES:]
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r["file"] in files:
            cells[(r["reason"], r["file"])] += r["rows"]
    fig = go.Figure()
    for reason in sorted({reason for reason, _ in cells}):
        fig.add_bar(name=reason, orientation="h", y=files, x=[cells.get((reason, f), 0) for f in files])
    fig.update_layout(barmode="stack", xaxis_title="rows", yaxis_automargin=True,
                      **{**LAYOUT, "height": 160 + 24 * len(files)})  # fmt: skip
    return fig


def freshness(rows: list[dict[str, Any]], nights: list[Night]) -> go.Figure | None:
    """A grid of nights × source tables, each square coloured by the freshness verdict, the age in the hover."""
    if not rows:
        return None
    label = {n.run_id: n.label for n in nights}
    fig = go.Figure()
    for status in _statuses({r["status"] for r in rows}):
        points = [r for r in rows if r["status"] == status]
        fig.add_scatter(
            name=status,
            x=[label[r["run_id"]] for r in points],
            y=[r["source"] for r in points],
            mode="markers",
            marker=dict(symbol="square", size=18, color=STATUS_COLOURS.get(status, "#546e7a")),
            customdata=[[_age(r["age_seconds"]), r["error_after"] or "-", r["message"] or ""] for r in points],
            hovertemplate="%{y}: " + status + ", loaded %{customdata[0]} ago (error after %{customdata[1]})"
            "<br>%{customdata[2]}<extra></extra>",
        )
    sources = sorted({r["source"] for r in rows})
    fig.update_layout(
        **{**LAYOUT, "height": 160 + 30 * len(sources)},
        xaxis=dict(type="category", categoryorder="array", categoryarray=[n.label for n in nights]),
        yaxis=dict(type="category", categoryorder="array", categoryarray=sources[::-1]),
    )
    return fig


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds / 3600:.1f} h" if seconds < 2 * 86400 else f"{seconds / 86400:.1f} days"


def reconciliation(rows: list[dict[str, Any]], nights: list[Night]) -> go.Figure | None:
    """Two panels, unexplained rows and unexplained amount, one line per table and stage step across the nights:
    every gap between stages should be explained by a rejected or quarantined row, so each line should sit on 0."""
    if not rows:
        return None
    label = {n.run_id: n.label for n in nights}
    order = [n.label for n in nights]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("unexplained rows", "unexplained amount"))  # fmt: skip
    by_step: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_step[r["step"]].append(r)
    for step, points in sorted(by_step.items()):
        points.sort(key=lambda p: order.index(label[p["run_id"]]))
        x = [label[p["run_id"]] for p in points]
        off = any((p["unexplained_rows"] or 0) != 0 or (p["unexplained_amount"] or 0) != 0 for p in points)
        width = 3 if off else 1.5
        fig.add_scatter(x=x, y=[p["unexplained_rows"] for p in points], mode="lines+markers", name=step,
                        legendgroup=step, line_width=width,
                        customdata=[[p["rows_in"], p["rows_out"], p["explained_rows"]] for p in points],
                        hovertemplate=f"{step}: %{{y}} unexplained (in %{{customdata[0]}}, out %{{customdata[1]}}, "
                                      "explained %{customdata[2]})<extra></extra>", row=1, col=1)  # fmt: skip
        fig.add_scatter(x=x, y=[float(p["unexplained_amount"] or 0) for p in points], mode="lines+markers",
                        name=step, legendgroup=step, showlegend=False, line_width=width, row=2, col=1)  # fmt: skip
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    fig.update_layout(**{**LAYOUT, "height": 560})
    return fig


def delta_versions(rows: list[dict[str, Any]], nights: list[Night]) -> go.Figure | None:
    """One line per mart: the Delta version each night published (a step up when the mart changed); a parity
    check that failed is a red ring."""
    if not rows:
        return None
    label = {n.run_id: n.label for n in nights}
    order = [n.label for n in nights]
    by_mart: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_mart[r["mart"]].append(r)
    fig = go.Figure()
    for mart, points in sorted(by_mart.items()):
        points.sort(key=lambda p: order.index(label[p["run_id"]]))
        fig.add_scatter(
            x=[label[p["run_id"]] for p in points],
            y=[p["version"] for p in points],
            mode="lines+markers",
            name=mart,
            marker=dict(size=8, line=dict(width=[0 if p["parity_ok"] is not False else 3 for p in points], color=RED)),
            customdata=[[p["rows"], p["action"] or "", "ok" if p["parity_ok"] else "FAILED"] for p in points],
            hovertemplate=f"{mart}: v%{{y}}, %{{customdata[0]}} rows, %{{customdata[1]}}, parity %{{customdata[2]}}"
            "<extra></extra>",
        )
    fig.update_layout(xaxis=dict(type="category", categoryorder="array", categoryarray=order),
                      yaxis_title="Delta version", **LAYOUT)  # fmt: skip
    return fig
