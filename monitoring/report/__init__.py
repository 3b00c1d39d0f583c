"""The quality report: one static HTML file with the charts of the last nights, from schema `monitoring`.

Why one self-contained file: it is read where the bank's data team is, often without internet (a file share, an
e-mail attachment, a locked-down desktop), so plotly.js is embedded once in the page (about 4.8 MB) and nothing is
fetched from anywhere. Each chart that has nothing to draw says why (no night recorded yet, a history table that
does not exist yet, no rows in these nights) instead of disappearing.

`write_report(conn, path)` is the whole API: `bankwh report` and the nightly flow's write-report task call it.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import charts, queries
from .queries import Night

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from psycopg2.extensions import connection as Connection

#: The report's place in the project directory (warehouse/project.py), as path parts.
DEFAULT_PATH = ("data", "reports", "quality-report.html")
NO_NIGHTS = "no nights recorded yet: the first nightly run (bankwh run) records one"
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True)
class Section:
    """One chart of the page: its anchor, title, how to read it, and the figure or why there is none."""

    key: str
    title: str
    reading: str
    figure: go.Figure | None
    empty: str
    after: str = ""  # HTML under the chart (a table of what it flags)


@dataclass(frozen=True)
class Written:
    path: Path
    nights: int
    charts: int


def _missing(table: str, what: str) -> str:
    return f"no data yet: monitoring.{table} does not exist in this warehouse yet ({what})"


def _none_in(nights: list[Night], what: str) -> str:
    return NO_NIGHTS if not nights else f"nothing in the last {len(nights)} night(s): {what}"


def _section(
    key: str,
    title: str,
    reading: str,
    rows: list[dict[str, Any]] | None,
    draw: Callable[[list[dict[str, Any]]], go.Figure | None],
    nights: list[Night],
    table: str,
    missing: str,
    none: str,
) -> Section:
    """A chart drawn from `rows`, or the reason it is empty: no nights at all, the table absent, no rows."""
    if not nights and table != "":
        return Section(key, title, reading, None, NO_NIGHTS)
    if rows is None:
        return Section(key, title, reading, None, _missing(table, missing) if table else missing)
    return Section(key, title, reading, draw(rows) if rows else None, _none_in(nights, none))


def sections(cur, nights: list[Night]) -> list[Section]:
    """Every chart of the report, in the page's order."""
    rejected = queries.rejected_rows(cur)
    no_rejected = "neither the dbt model int_rejected_rows_unioned nor an ingest quarantine exists yet"
    volumes = _section(
        "volumes",
        "Daily transaction volumes and anomalies",
        "Transactions per day (count and amount, per segment) against the expected range of a trailing "
        "window that tells weekdays from weekends (grey band); a red cross is a day flagged as an "
        "anomaly. Totals are drawn; click a channel or product in the legend to draw it.",
        queries.volumes(cur, nights),
        charts.volumes,
        nights,
        "anomalies",
        "written by the nightly quality checks",
        "no transaction volume was checked",
    )
    volumes = replace(volumes, after=_flagged_table(queries.flagged(cur, nights)))
    return [
        _section("tests", "dbt tests per night",
                 "Every data and unit test of each night's build by verdict; a night with a failed test (an "
                 "error-severity test) is not published. Hover a bar for the tests' names.",
                 queries.test_results(cur, nights), lambda r: charts.test_results(r, nights), nights,
                 "dbt_node_results", "written by the nightly flow's record-history step", "no dbt build ran"),
        volumes,
        _section("rejected-reason", "Rejected rows by reason",
                 "Rows the warehouse holds back today: refused by a staging check (dbt, with the reason code) or "
                 "quarantined by the ingest (a line that could not be a record, or a file quarantined whole).",
                 rejected, charts.rejected_by_reason, nights, "", no_rejected, "no row rejected"),
        _section("rejected-file", f"Rejected rows by file (the {charts.TOP_FILES} files with the most)",
                 "The same rows by the file that delivered them (API records together), split by reason.",
                 rejected, charts.rejected_by_file, nights, "", no_rejected, "no row rejected"),
        _section("freshness", "Source freshness per night",
                 "Each source table's freshness verdict as dbt source freshness gave it that night: past "
                 "warn_after is a warning, past error_after (or empty) an error and an alert.",
                 queries.freshness(cur, nights), lambda r: charts.freshness(r, nights), nights,
                 "source_freshness", "written by the nightly flow's record-history step", "no freshness check ran"),
        _section("reconciliation", "Reconciliation: unexplained difference per night and table",
                 "For every table and stage step (landing files → raw → staging → marts), the rows and amount that "
                 "no rejected or quarantined row explains. Every line should sit on 0.",
                 queries.reconciliation(cur, nights), lambda r: charts.reconciliation(r, nights), nights,
                 "reconciliation", "written by the nightly quality checks", "no reconciliation ran"),
        _section("delta", "Delta versions published per mart",
                 "The Delta Lake version each night exported per mart (a night that failed its gate exports "
                 "nothing); a red ring marks a parity check that failed.",
                 queries.delta_versions(cur, nights), lambda r: charts.delta_versions(r, nights), nights,
                 "delta_exports", "written when a night publishes", "no night published"),
    ]  # fmt: skip


def _flagged_table(rows: list[dict[str, Any]]) -> str:
    """Every anomaly of these nights, of every metric, in words: metric, segment, day, value, expected range."""
    if not rows:
        return ""
    cells = "".join(
        f"<tr><td>{html.escape(r['metric'])}</td><td>{html.escape(str(r['segment']))}</td><td>{r['day']:%Y-%m-%d %a}"
        f"</td><td class='num'>{_number(r['value'])}</td><td class='num'>{_number(r['expected_low'])} to "
        f"{_number(r['expected_high'])}</td></tr>"
        for r in rows
    )
    return (
        f"<h3>Anomalies flagged in these nights ({len(rows)}, every metric, newest day first)</h3><table>"
        "<thead><tr><th>metric</th><th>segment</th><th>day</th><th>value</th><th>expected</th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
    )


def _number(value: Any) -> str:
    if value is None:
        return "-"
    number = float(value)
    return f"{number:.4f}" if abs(number) < 1 and number != 0 else f"{number:,.0f}"


def _nights_table(cur, nights: list[Night]) -> str:
    """The nights covered, newest first: start, run id, tests that failed, published or not."""
    if not nights:
        return f"<p class='empty'>{html.escape(NO_NIGHTS)}</p>"
    tests = queries.test_results(cur, nights) or []
    bad: dict[str, list[str]] = {}
    for r in tests:
        if r["status"] in ("fail", "error"):
            bad.setdefault(r["run_id"], []).append(r["names"])
    rows = "".join(
        f"<tr class='{'ok' if n.published else 'blocked'}'><td>{n.started:%Y-%m-%d %H:%M:%S}</td>"
        f"<td><code>{html.escape(n.run_id)}</code></td><td>{'published' if n.published else 'not published'}</td>"
        f"<td>{html.escape(', '.join(bad.get(n.run_id, [])) or '-')}</td></tr>"
        for n in reversed(nights)
    )
    return (
        "<table><thead><tr><th>started (UTC)</th><th>run</th><th>night</th><th>failed or errored tests</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1rem 2rem; color: #212121; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.meta, .reading { color: #555; } .empty { padding: 1.5rem; background: #f5f5f5; color: #555; border-radius: 4px; }
table { border-collapse: collapse; font-size: 0.9rem; } td, th { padding: 0.2rem 0.8rem; text-align: left; }
tr.blocked td { color: #c62828; } thead th { border-bottom: 1px solid #999; } td.num { text-align: right; }
nav a { margin-right: 1rem; }
"""


def render(nights: list[Night], parts: list[Section], nights_table: str, database: str | None) -> str:
    """The whole page: plotly.js once in the head, then one block per chart."""
    from plotly.offline import get_plotlyjs

    generated = datetime.now(UTC)
    where = f" of database <code>{html.escape(database)}</code>" if database else ""
    span = (
        f"{len(nights)} night(s), {nights[0].started:%Y-%m-%d} to {nights[-1].started:%Y-%m-%d}" if nights else "none"
    )
    blocks = []
    for part in parts:
        body = (
            part.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{part.key}", config=PLOT_CONFIG)
            if part.figure is not None
            else f"<p class='empty' data-chart='{part.key}'>{html.escape(part.empty)}</p>"
        )
        blocks.append(
            f"<section id='{part.key}'><h2>{html.escape(part.title)}</h2>"
            f"<p class='reading'>{html.escape(part.reading)}</p>{body}{part.after}</section>"
        )
    nav = " ".join(f"<a href='#{p.key}'>{html.escape(p.title.split(':')[0])}</a>" for p in parts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bank warehouse quality report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>Bank warehouse quality report</h1>
<p class="meta">Written {generated:%Y-%m-%d %H:%M} UTC{where}; nights covered: {span}.</p>
<nav>{nav}</nav>
<h2>Nights</h2>{nights_table}
{"".join(blocks)}
</body></html>
"""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_report(conn: Connection, path: Path | str, nights: int = 30, database: str | None = None) -> Written:
    """Write the report of the last `nights` nights to `path` (folders created; the file is replaced whole, so a
    reader never opens half a report). Reads only; the connection's transaction is rolled back afterwards."""
    path = Path(path)
    try:
        with conn.cursor() as cur:
            covered = queries.nights(cur, nights)
            parts = sections(cur, covered)
            page = render(covered, parts, _nights_table(cur, covered), database)
    finally:
        conn.rollback()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would create it: mkstemp's 0600 would hide it from the team
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Written(path, len(covered), sum(p.figure is not None for p in parts))
