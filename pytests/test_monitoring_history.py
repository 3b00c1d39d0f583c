"""The nightly history in schema `monitoring` and the sources' freshness, on real PostgreSQL and real dbt.

Three nights of the flow on the tiny project of test_flow.py, plus a source with load times: a green night with a
stale source, a night blocked by a failing test, and a green night with the source fresh again. The history keeps
all three nights side by side (nothing overwritten), the blocked night's failing test, the export of the published
nights only; the stale source is recorded as `error` and alerted without blocking the night.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_flow import TINY_PROJECT, _webhook_receiver

from ingest.summary import FileResult, IngestSummary
from monitoring import history
from orchestration.tasks import file_results

FEEDS_SOURCES = """
version: 2
sources:
  - name: feeds
    schema: src
    config:
      meta: {owner: Feeds team, owner_email: feeds@example.org}
      loaded_at_field: delivered_at
      freshness:
        warn_after: {count: 12, period: hour}
        error_after: {count: 1, period: day}
    tables:
      - name: deliveries
      - name: rates
      - name: absent
      - name: sales
        config: {freshness: null}
"""
STALE = "source.tiny_bank.feeds.deliveries"
FAILING_TEST = "test.tiny_bank.assert_no_negative_amounts"
WHOLE = "mandatory column client_id missing"


@pytest.fixture
def clean_env():
    """The flow exports PG* variables for dbt; give the process its environment back afterwards."""
    from unittest.mock import patch

    with patch.dict(os.environ):
        yield


@pytest.fixture
def feeds_project(tmp_path) -> Path:
    """test_flow's tiny project, with a source that declares a freshness."""
    root = tmp_path / "tiny_dbt"
    for rel, text in {**TINY_PROJECT, "models/sources.yml": FEEDS_SOURCES}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text.lstrip())
    return root


@pytest.fixture
def feeds_db(fresh_db):
    """test_flow's sales table, and the feeds: `deliveries` last loaded three days ago (past error_after), `rates`
    loaded an hour ago, `absent` declared but never created (dbt cannot measure it)."""
    with fresh_db.cursor() as cur:
        cur.execute(
            """
            create schema src;
            create table src.sales (sale_id bigint, shop_id int, sold_on date, amount numeric(18,2));
            insert into src.sales
            select g, 1 + g % 4, date '2025-01-01' + g % 60, (g * 13 % 500)::numeric / 4 from generate_series(1, 200) g;
            create table src.deliveries (file_name text, delivered_at timestamptz);
            insert into src.deliveries values ('d1.csv', now() - interval '3 days');
            create table src.rates (rate numeric, delivered_at timestamptz);
            insert into src.rates values (1.1, now() - interval '1 hour');
            """
        )
    return fresh_db


def _rows(wh, sql: str, *params) -> list[tuple]:
    with wh.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_three_nights_accumulate_history_and_a_stale_source_is_alerted(
    prefect_harness, clean_env, feeds_db, feeds_project, tmp_path
):
    """Each night appends its dbt nodes and freshness (blocked or not), a published night its export; the stale
    source is `error` in the history and an alert to its owner that opens, stays grouped and resolves."""
    from orchestration.flows import nightly

    posts = _webhook_receiver()
    os.environ["BANKWH_ALERT_WEBHOOK_URL"] = posts.url
    params = dict(sources=[], database=feeds_db.database, dbt_project_dir=str(feeds_project),
                  delta_root=str(tmp_path / "delta"))  # fmt: skip
    _land_one_transactions_file(feeds_db)  # so each night's reconciliation has a file to account for

    # night 1: green, with a stale source that is alerted but does not block
    first = nightly(**params, return_state=True)
    assert first.is_completed(), first.message
    summary = first.result()
    assert summary["status"] == "published"
    assert summary["freshness"]["statuses"] == {"error": 1, "pass": 1, "runtime error": 1}
    assert summary["alerts"]["new"] == 2 and len(posts.bodies) == 1
    assert "NEW FAILURE" in posts.bodies[0] and "feeds.deliveries freshness" in posts.bodies[0]
    assert "Feeds team <feeds@example.org>" in posts.bodies[0] and STALE in posts.bodies[0]

    # night 2: a negative amount fails an error-severity test; the gate blocks, the history keeps the night
    with feeds_db.cursor() as cur:
        cur.execute("insert into src.sales values (9999, 2, '2025-04-01', -5.00)")
    blocked = nightly(**params, return_state=True)
    assert blocked.is_failed()
    assert len(posts.bodies) == 2 and "STILL FAILING for 2 nights" in posts.bodies[1]

    # night 3: the sale is mended and the feed delivers again: green, their alerts resolved
    with feeds_db.cursor() as cur:
        cur.execute("delete from src.sales where sale_id = 9999")
        cur.execute("insert into src.deliveries values ('d2.csv', now())")
    third = nightly(**params, return_state=True)
    assert third.is_completed(), third.message
    assert third.result()["alerts"] == {"new": 0, "ongoing": 1, "resolved": 2, "errors": 0}  # `absent` still fails

    runs = [str(s.state_details.flow_run_id) for s in (first, blocked, third)]
    nodes = _rows(feeds_db, "select run_id, count(*) from monitoring.dbt_node_results group by run_id")
    assert {run for run, _ in nodes} == set(runs) and len({n for _, n in nodes}) == 1  # the same nodes each night
    verdicts = dict(_rows(feeds_db, "select run_id, status || ' ' || failures from monitoring.dbt_node_results "
                                    "where unique_id = %s", FAILING_TEST))  # fmt: skip
    assert verdicts == {runs[0]: "pass 0", runs[1]: "fail 1", runs[2]: "pass 0"}
    models = _rows(feeds_db, "select resource_type, name, rows_affected from monitoring.dbt_node_results "
                             "where run_id = %s and unique_id = 'model.tiny_bank.fact_sales'", runs[1])  # fmt: skip
    assert models == [("model", "fact_sales", 201)]

    exports = _rows(feeds_db, "select run_id, mart, rows, parity_ok from monitoring.delta_exports order by 1, 2")
    assert {(run, mart) for run, mart, _, _ in exports} == {(r, m) for r in (runs[0], runs[2])
                                                            for m in ("dim_shops", "fact_sales")}  # fmt: skip
    assert all(ok for *_, ok in exports) and {rows for run, mart, rows, _ in exports if mart == "fact_sales"} == {200}

    freshness = _rows(feeds_db, "select run_id, table_name, status, age_seconds, error_after "
                                "from monitoring.source_freshness order by 1, 2")  # fmt: skip
    by_night = {(run, table): (status, age, limit) for run, table, status, age, limit in freshness}
    assert {table for _, table in by_night} == {"deliveries", "rates", "absent"}  # `sales` declares no freshness
    status, age, limit = by_night[(runs[0], "deliveries")]
    assert status == "error" and 3 * 86400 - 60 < age < 3 * 86400 + 3600 and limit == "1 day"
    assert by_night[(runs[1], "deliveries")][0] == "error" and by_night[(runs[2], "deliveries")][0] == "pass"
    assert {by_night[(run, "rates")][0] for run in runs} == {"pass"}
    assert {by_night[(run, "absent")][0] for run in runs} == {"runtime error"}
    (message,) = _rows(feeds_db, "select message from monitoring.source_freshness where table_name = 'absent' "
                                 "and run_id = %s", runs[0])[0]  # fmt: skip
    assert 'relation "src.absent" does not exist' in message

    # the quality checks of each night (orchestration/quality.py) accumulate beside the rest, nothing overwritten
    steps = _rows(feeds_db, "select run_id, to_table, rows_in, rows_out, explained_rows, unexplained_rows from "
                            "monitoring.reconciliation where entity = 'transactions' order by recorded_at")  # fmt: skip
    assert steps == [(run, "raw_core_banking.transactions", 3, 2, 1, 0) for run in runs]
    assert [summary["quality"]["unexplained_rows"] for summary in (first.result(), third.result())] == [0, 0]


def _land_one_transactions_file(wh) -> None:
    """A landing file of three lines as the file ingest leaves it: two rows in raw, one line quarantined, the
    ledger row that counts them."""
    from ingest.raw_tables import ensure_raw_tables

    ensure_raw_tables(wh, log=lambda *_: None)
    name = "transactions/2025-01-01.csv"
    with wh.cursor() as cur:
        cur.execute(
            "insert into raw_core_banking._file_loads (file_name, entity, content_sha256, encoding, lines_in, "
            "rows_loaded, rows_quarantined, load_id, loaded_at) values (%s, 'transactions', 'abc', 'utf-8', 3, 2, 1, "
            "'load-1', now())",
            (name,),
        )
        cur.execute(
            "insert into raw_core_banking.transactions (transaction_id, _file_name, _line_number, _dlt_load_id, "
            "_loaded_at) values ('T1', %s, 2, 'load-1', now()), ('T2', %s, 4, 'load-1', now())",
            (name, name),
        )
        cur.execute(
            "insert into raw_core_banking._quarantine (file_name, line_number, raw_line, reason, _loaded_at, "
            "_dlt_load_id) values (%s, 3, 'T1b,broken', 'too_few_columns', now(), 'load-1')",
            (name,),
        )


def test_ingest_files_history_keeps_each_nights_files_and_never_overwrites(fresh_db):
    """The files a night read (not those already loaded) are kept per run; recording a run again changes nothing."""
    summary = IngestSummary(
        source="files",
        files=[
            FileResult("transactions/2025-01-02.csv", "transactions", "loaded", lines_in=10, rows=9, quarantined=1),
            FileResult("clients/2025-01-02.csv", "clients", "quarantined", lines_in=3, quarantined=3, message=WHOLE),
            FileResult("clients/2025-01-01.csv", "clients", "unchanged", lines_in=5, rows=5),
        ],
    )
    ingest = {"files": {**summary.counts(), "file_results": file_results(summary)}, "api": {"rows": {}}}
    conn = fresh_db.connect()
    try:
        assert history.record(conn, "night-1", ingest=ingest) == {"ingest_files": 2}
        again = {"file": "transactions/2025-01-02.csv", "status": "replaced"}
        history.record(conn, "night-1", ingest={"files": {"file_results": [again]}})
        czech = {"file": "trans.asc", "status": "loaded", "lines_in": 4, "rows_loaded": 4}
        history.record(conn, "night-2", ingest={"berka": {"file_results": [czech]}})
    finally:
        conn.close()
    rows = _rows(fresh_db, "select run_id, source, file, status, lines_in, rows_loaded, rows_quarantined, reason "
                           "from monitoring.ingest_files order by 1, 3")  # fmt: skip
    assert rows == [
        ("night-1", "files", "clients/2025-01-02.csv", "quarantined", 3, 0, 3, WHOLE),
        ("night-1", "files", "transactions/2025-01-02.csv", "loaded", 10, 9, 1, None),  # the first record stays
        ("night-2", "berka", "trans.asc", "loaded", 4, 4, None, None),
    ]
