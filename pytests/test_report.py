"""The static HTML quality report (`bankwh report`, and the flow's write-report step), opened in a real browser.

The history it charts is recorded by the project itself: real nights of the nightly flow on the tiny dbt project of
test_flow.py, with landing files ingested for real (a broken line and a file quarantined whole), a source whose
freshness dbt checks, a night that publishes and one the gate blocks. The report is then opened in headless
Chromium (Debian's package, pytests/screens.py): every chart must be drawn with data and the page must not reach
for anything outside its own file. The screenshot the README shows is taken there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ingest_helpers import client, header, txn, write_lines
from screens import SCREENSHOTS
from test_flow import SALES, TINY_PROJECT

from bankwh import cli
from monitoring import report

#: The tiny project's source on the raw layer the landing files go to, with a freshness dbt can check.
CORE_BANKING_SOURCE = """
version: 2
sources:
  - name: core_banking
    schema: raw_core_banking
    config:
      loaded_at_field: _loaded_at
      freshness:
        warn_after: {count: 12, period: hour}
        error_after: {count: 1, period: day}
    tables:
      - name: transactions
      - name: clients
"""
#: Eight weeks of card and online transactions for the tiny project's fact (what the anomaly checks read): 60 a
#: weekday, 30 a weekend day, and on the last day, a Sunday, a drop to 6 that the checks must flag.
TRANSACTIONS = """
create table src.products (product_key int, product_code text);
insert into src.products values (1, 'CURRENT'), (2, 'SAVINGS');
create table src.transactions as
select row_number() over (order by day, n) as transaction_key, 'core_banking'::text as source_system,
       day::date as booked_date, (array['card_pos', 'online'])[1 + n % 2] as channel, 1 + n % 2 as product_key,
       (10 + n % 7)::numeric(18, 2) as amount_eur
from generate_series(date '2025-01-06', date '2025-03-02', interval '1 day') as day,
     generate_series(1, case when extract(isodow from day) >= 6 then 30 else 60 end) as n
where not (day = date '2025-03-02' and n > 6);
"""
TRANSACTION_MARTS = {
    "models/marts/fact_transactions.sql": "select * from src.transactions",
    "models/marts/dim_products.sql": "select * from src.products",
}
DAY, NEXT_DAY = "2025-01-02", "2025-01-03"
#: Every chart of the page, by section id (monitoring/report/__init__.py).
CHARTS = ("tests", "volumes", "rejected-reason", "rejected-file", "freshness", "reconciliation", "delta")


@pytest.fixture
def clean_env():
    """The flow exports PG* variables for dbt; give the process its environment back afterwards."""
    from unittest.mock import patch

    with patch.dict(os.environ):
        yield


@pytest.fixture
def night_project(tmp_path, monkeypatch) -> Path:
    """test_flow's tiny dbt project, with a source on the raw layer the landing files go to and the two marts the
    volume checks read."""
    root = tmp_path / "tiny_dbt"
    for rel, text in {**TINY_PROJECT, **TRANSACTION_MARTS, "models/sources.yml": CORE_BANKING_SOURCE}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text.lstrip())
    monkeypatch.delenv("BANKWH_REPORT_PATH", raising=False)
    return root


@pytest.fixture
def landing(tmp_path) -> Path:
    """A day of landing files: transactions with two lines that cannot be records, clients without their key."""
    data = tmp_path / "raw"
    lines = [header("transactions"), *(txn(i, DAY) for i in range(1, 6)), "T0000009,A00001", txn(7, DAY) + ",x"]
    write_lines(data, "transactions", DAY, lines)
    write_lines(data, "clients", DAY, [header("clients", drop=("client_id",)), client(1, DAY).split(",", 1)[1]])
    return data


@pytest.fixture
def sales_db(fresh_db):
    with fresh_db.cursor() as cur:
        cur.execute(SALES)
        cur.execute(TRANSACTIONS)
    return fresh_db


def _charts_in(browser, path: Path, screenshot: Path | None = None) -> tuple[dict, dict, list[str]]:
    """Open the report: (chart id → traces, points and SVG marks drawn), (section id → empty message), every URL
    the page requested. A script error on the page fails the test."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot')].every(gd => gd._fullLayout && gd._fullData)"
        )
        drawn = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(gd => [gd.id, {
                traces: gd.data.length,
                points: gd.data.reduce((n, t) => n + (t.x || t.y || []).length, 0),
                marks: gd.querySelectorAll('.cartesianlayer .trace path').length,
                y: Object.fromEntries(gd.data.map(t => [t.name, t.y])),
            }]))"""
        )
        empty = page.evaluate(
            "() => Object.fromEntries([...document.querySelectorAll('.empty[data-chart]')]"
            ".map(p => [p.dataset.chart, p.textContent]))"
        )
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    assert errors == []
    return drawn, empty, requests


def test_nights_write_the_report_and_chromium_draws_every_chart(
    prefect_harness, clean_env, sales_db, night_project, landing, browser, tmp_path, monkeypatch, capsys
):
    """A published night, a night the gate blocks, a published night again: after each the flow rewrote the report
    (the blocked night's failing test in it); in Chromium every chart has traces with points and SVG marks, and
    nothing is fetched."""
    from orchestration.flows import nightly

    params = dict(sources=["files"], data_dir=str(landing), database=sales_db.database,
                  dbt_project_dir=str(night_project), delta_root=str(tmp_path / "data" / "delta"))  # fmt: skip
    path = tmp_path / "data" / "reports" / "quality-report.html"  # beside the night's Delta tables
    first = nightly(**params, return_state=True)
    assert first.is_completed(), first.message
    runs = [str(first.state_details.flow_run_id)]
    assert runs[0] in path.read_text()

    with sales_db.cursor() as cur:
        cur.execute("insert into src.sales values (9999, 2, '2025-04-01', -5.00)")
    blocked = nightly(**params, return_state=True)
    assert blocked.is_failed()
    runs.append(str(blocked.state_details.flow_run_id))
    page = path.read_text()
    assert runs[1] in page and "assert_no_negative_amounts" in page  # the blocked night's failing test

    # `bankwh report --nights 1`: the blocked night alone, whose build published no Delta version
    monkeypatch.setenv("PGDATABASE", sales_db.database)
    last = tmp_path / "last-night.html"
    assert cli.main(["report", "--output", str(last), "--nights", "1"]) == 0
    assert f"quality report of 1 night(s) in {sales_db.database}" in capsys.readouterr().out
    _, empty, _ = _charts_in(browser, last)
    assert empty == {"delta": "nothing in the last 1 night(s): no night published"}
    assert runs[0] not in last.read_text()

    # the sale is mended, a new one and a new day of files arrive: published again, fact_sales at Delta v1
    with sales_db.cursor() as cur:
        cur.execute("update src.sales set amount = 5.00 where sale_id = 9999")
    write_lines(landing, "transactions", NEXT_DAY, [header("transactions"), *(txn(i, NEXT_DAY) for i in (11, 12))])
    third = nightly(**params, return_state=True)
    assert third.is_completed(), third.message
    runs.append(str(third.state_details.flow_run_id))

    drawn, empty, requests = _charts_in(browser, path, SCREENSHOTS / "quality-report.png")
    assert empty == {}
    assert set(drawn) == {f"chart-{key}" for key in CHARTS}
    for chart, seen in drawn.items():
        assert seen["traces"] > 0 and seen["points"] > 0 and seen["marks"] > 0, (chart, seen)
    assert drawn["chart-delta"]["y"]["fact_sales"] == [0, 1]  # nights 1 and 3; the blocked night exported nothing
    assert drawn["chart-tests"]["y"]["fail"] == [0, 1, 0]
    # the planted Sunday drop, in words under the volume chart: 6 transactions where 30 are usual
    assert "<td>transaction_count</td><td>core_banking all</td><td>2025-03-02 Sun</td><td class='num'>6</td>" in (
        path.read_text()
    )
    assert requests and all(url.startswith(("file://", "data:")) for url in requests), requests
    assert (SCREENSHOTS / "quality-report.png").stat().st_size > 10_000


def test_report_before_any_night_says_so_per_chart(fresh_db, tmp_path, capsys, browser, monkeypatch):
    """`bankwh report` on a warehouse with no history yet: exit 0, one file, each chart says no night is recorded;
    a wrong --nights is one line and exit 1."""
    monkeypatch.setenv("PGDATABASE", fresh_db.database)
    out = tmp_path / "nested" / "report.html"
    assert cli.main(["report", "--output", str(out), "--nights", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bankwh report: error: --nights must be a positive number of nights, got 0"]
    assert cli.main(["report", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"quality report of 0 night(s) in {fresh_db.database} written to {out}" in printed
    drawn, empty, requests = _charts_in(browser, out)
    assert drawn == {}
    assert set(empty) == set(CHARTS)
    assert {text for key, text in empty.items() if not key.startswith("rejected")} == {report.NO_NIGHTS}
    assert all(url.startswith("file://") for url in requests)
