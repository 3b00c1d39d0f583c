"""The business dashboard (`bankwh dashboard`, dashboard/) over the session's built warehouse, in a real browser.

The page runs as its own process, connected as a role of this module that may read schema `marts` and nothing else:
if any figure came from another schema (a candidate being built, staging), the page would fail. Its figures are
compared with the facts; headless Chromium (fixture `browser`) checks that every chart is drawn with data and that
a filter changes them. The screenshot is the README's docs/screenshots/dashboard.png.
"""

from __future__ import annotations

import ast
import inspect
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg2
import pytest
from screens import SCREENSHOTS

from dashboard import charts, queries
from publishing.publish import PUBLISHED_SCHEMA
from warehouse import Warehouse

BANKWH = Path(sys.executable).with_name("bankwh")
#: The chart elements of the page: Streamlit marks each keyed element's container with `st-key-<key>`.
CHART_TRACES = """(key) => {
    const plot = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    if (!plot || !plot._fullData) return null;
    return plot._fullData.filter(t => t.visible !== false).map(t => ({
        name: t.name || '', x: Array.from(t.x || []).map(String), y: Array.from(t.y || []).map(Number),
    }));
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(wh: Warehouse) -> dict[str, str]:
    """The dashboard's environment: the libpq variables of `wh` only (no role passwords, no dbt role settings)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "BANKWH_ANALYST", "BANKWH_DBT_"))}
    return {**env, **wh.env()}


@pytest.fixture(scope="module")
def marts_reader(built) -> Iterator[Warehouse]:
    """A login role of this module that may read schema `marts` of the built warehouse, and nothing else."""
    role, password = f"bankwh_dash_{uuid.uuid4().hex[:8]}", secrets.token_hex(12)
    admin = built.wh
    with admin.cursor() as cur:
        cur.execute(f'create role "{role}" login password %s', (password,))
        cur.execute(f'grant connect on database "{admin.database}" to "{role}"')
        cur.execute(f'grant usage on schema {PUBLISHED_SCHEMA} to "{role}"')
        cur.execute(f'grant select on all tables in schema {PUBLISHED_SCHEMA} to "{role}"')
    host = "127.0.0.1" if admin.host.startswith("/") else admin.host  # a password login goes over TCP
    yield replace(admin, host=host, user=role, password=password, embedded=False)
    with admin.cursor() as cur:
        cur.execute(f'drop owned by "{role}"')
        cur.execute(f'drop role "{role}"')


@pytest.fixture(scope="module")
def dashboard_url(marts_reader: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bankwh dashboard` as a process of its own, as the marts reader, on a free port of loopback."""
    port = _free_port()
    log = tmp_path_factory.mktemp("dashboard") / "dashboard.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(BANKWH), "dashboard", "--port", str(port)], env=_env(marts_reader),
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"bankwh dashboard exited {process.returncode}: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not answer within 90 s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _all(conn) -> queries.Filters:
    """The page's default filters: every month, segment and source bank."""
    choices = queries.options(conn)
    return queries.Filters(choices["months"][0], choices["months"][-1], tuple(choices["segments"]),
                           tuple(choices["sources"]))  # fmt: skip


@contextmanager
def _reading(wh: Warehouse) -> Iterator:
    """A read-only autocommit connection, as the page opens one (no `with conn`: that would open a transaction)."""
    conn = wh.connect()
    try:
        conn.set_session(readonly=True, autocommit=True)
        yield conn
    finally:
        conn.close()


def _scalar(wh: Warehouse, sql: str, params: tuple = ()) -> float:
    with wh.cursor() as cur:
        cur.execute(sql, params)
        return float(cur.fetchone()[0] or 0)


# --- cheap: the command, and what the queries may read ----------------------------------------------------------------


def test_queries_read_schema_marts_only() -> None:
    """Every table the dashboard's SQL names is in the published schema (or a CTE of the same query)."""
    tree = ast.parse(inspect.getsource(queries))
    sql = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
           and re.search(r"\bselect\b", node.value)]  # fmt: skip
    assert len(sql) >= 6
    for text in sql:
        ctes = set(re.findall(r"\b(\w+) as \(", text))
        for name in re.findall(r"\b(?:from|join)\s+([\w{}.]+)", text):
            assert name in ctes or name.startswith("{marts}."), f"{name} is not a published mart: {text}"


def test_dashboard_command_says_what_it_does_and_fails_in_one_line() -> None:
    helped = subprocess.run([str(BANKWH), "dashboard", "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--port" in helped.stdout and "marts" in helped.stdout
    nobody = Warehouse("127.0.0.1", _free_port(), "bankwh_analyst", "x", "bank", embedded=False)
    refused = subprocess.run([str(BANKWH), "dashboard", "--port", str(_free_port())], env=_env(nobody),
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.startswith("bankwh dashboard: error: cannot connect to 127.0.0.1:")
    assert len(refused.stderr.strip().splitlines()) == 1


# --- on the built warehouse -------------------------------------------------------------------------------------------


def test_figures_are_the_facts_read_through_schema_marts_only(built, marts_reader: Warehouse) -> None:
    with _reading(marts_reader) as conn:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
            cur.execute("select 1 from staging.stg_core_banking__transactions limit 1")
        filters = _all(conn)
        revenue = queries.revenue(conn, filters)
        channels = queries.transactions_by_channel(conn, filters)
        loans = queries.loan_book(conn, filters)
        nps = queries.nps(conn, filters)
        head = queries.headline(revenue, channels, loans, nps)

    admin = built.wh
    assert head["revenue_eur"] == pytest.approx(_scalar(admin, "select sum(revenue_eur) from marts.fact_revenue"))
    assert head["revenue_eur"] > 0
    assert head["transactions"] == _scalar(admin, "select count(*) from marts.fact_transactions") > 0
    fraud = _scalar(admin, "select count(distinct transaction_key) from marts.fact_fraud where is_fraud and "
                           "transaction_key in (select transaction_key from marts.fact_transactions)")  # fmt: skip
    assert channels["fraud_count"].sum() == fraud > 0
    assert head["fraud_rate"] == pytest.approx(fraud / head["transactions"])
    outstanding = _scalar(admin, "select sum(outstanding_principal_eur) from marts.fact_loans")
    assert loans["outstanding_eur"].sum() == pytest.approx(outstanding)
    bad = _scalar(admin, "select sum(outstanding_principal_eur) from marts.fact_loans where is_non_performing")
    assert head["npl_ratio"] == pytest.approx(bad / outstanding)
    answers = _scalar(admin, "select count(*) from marts.dim_satisfaction where satisfaction_key != '-1'")
    assert nps["response_count"].sum() == answers > 0
    assert -100 <= head["nps"] <= 100


def test_every_chart_drawn_with_data_and_a_filter_changes_them(
    dashboard_url: str, marts_reader: Warehouse, browser
) -> None:
    with _reading(marts_reader) as conn:
        filters = _all(conn)
        revenue = queries.revenue(conn, filters)
    by_segment = revenue.groupby("segment")["revenue_eur"].sum()
    dropped = by_segment.idxmax()  # the filter must change the figures: leave out the segment that earns most
    assert len(by_segment) > 1

    page = browser.new_page(viewport={"width": 1500, "height": 1700})
    try:
        page.goto(dashboard_url, wait_until="domcontentloaded")
        drawn = {}
        for key in charts.CHARTS:
            page.wait_for_function(f"() => {{ const t = ({CHART_TRACES})('{key}'); return t && t.length > 0; }}",
                                   timeout=90_000)  # fmt: skip
            drawn[key] = page.evaluate(CHART_TRACES, key)
        for key, traces in drawn.items():
            assert sum(len(t["y"]) for t in traces) > 0, f"{key} has no data"
        assert sum(sum(t["y"]) for t in drawn["revenue-by-product"]) == pytest.approx(by_segment.sum(), rel=1e-6)
        assert {x for t in drawn["revenue-by-segment"] for x in t["x"]} == set(by_segment.index)
        page.wait_for_timeout(1000)  # the charts' transitions end before the picture
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

        # the segment filter: deselect the segment; every revenue chart follows
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_role("button", name=dropped, exact=True).click()
        page.wait_for_function(
            f"""() => {{
                const t = ({CHART_TRACES})('revenue-by-segment');
                return t && t.length > 0 && !t.some(trace => trace.x.includes({dropped!r}));
            }}""",
            timeout=60_000,
        )
        after = page.evaluate(CHART_TRACES, "revenue-by-product")
    finally:
        page.close()
    expected = by_segment.drop(dropped).sum()
    assert sum(sum(t["y"]) for t in after) == pytest.approx(expected, rel=1e-6)
    assert expected < by_segment.sum()
