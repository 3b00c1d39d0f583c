"""The nightly Prefect flow: publish gate, no overlapping runs, schedule from prefect.yaml (compose: test_compose.py).

The flow runs for real under Prefect's test harness (one temporary Prefect server for the whole session) against
a fresh PostgreSQL database. dbt runs for real too, on a tiny dbt project written into tmp_path that builds two
marts from a table the test controls, with one error-severity and one warn-severity test, so the gate can be
opened and closed on purpose.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import threading
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable
from fault_helpers import with_env

from bankwh import cli, serve
from project_root import PROJECT_ROOT
from publishing import gate
from warehouse import locking

TINY_PROJECT = {
    "dbt_project.yml": """
name: tiny_bank
version: "1.0.0"
config-version: 2
profile: bank_warehouse
model-paths: [models]
macro-paths: [macros]
test-paths: [tests]
models:
  tiny_bank:
    marts:
      +schema: "{{ env_var('BANKWH_MARTS_SCHEMA', 'marts_dev') }}"
      +materialized: table
""",
    "macros/generate_schema_name.sql": (PROJECT_ROOT / "macros" / "generate_schema_name.sql").read_text(),
    "models/marts/fact_sales.sql": "select sale_id, shop_id, sold_on, amount from src.sales",
    "models/marts/dim_shops.sql": "select distinct shop_id, 'Shop ' || shop_id as shop_name from src.sales",
    "models/marts/schema.yml": """
version: 2
models:
  - name: fact_sales
    columns:
      - name: sale_id
        data_tests: [not_null, unique]
      - name: shop_id
        data_tests:
          - accepted_values:
              arguments: {values: [1, 2, 3]}
              config: {severity: warn}
""",
    "tests/assert_no_negative_amounts.sql": "select * from {{ ref('fact_sales') }} where amount < 0",
}


@pytest.fixture
def clean_env():
    """The flow exports PG* variables for dbt; give the process its environment back afterwards."""
    from unittest.mock import patch

    with patch.dict(os.environ):
        yield


@pytest.fixture
def tiny_project(tmp_path) -> Path:
    root = tmp_path / "tiny_dbt"
    for rel, text in TINY_PROJECT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text.lstrip())
    return root


#: The tiny project's source: 200 sales of four shops over 60 days.
SALES = """
create schema src;
create table src.sales (sale_id bigint, shop_id int, sold_on date, amount numeric(18,2));
insert into src.sales
select g, 1 + g % 4, date '2025-01-01' + g % 60, (g * 13 % 500)::numeric / 4 from generate_series(1, 200) g;
"""


@pytest.fixture
def sales_db(fresh_db):
    with fresh_db.cursor() as cur:
        cur.execute(SALES)
    return fresh_db


class _Posts:
    """What a local webhook receiver got: the `text` of every Slack-style JSON body."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bodies: list[str] = []


def _webhook_receiver() -> _Posts:
    """An HTTP server on 127.0.0.1 for the alerts' webhook; a daemon thread, it ends with the test process."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posts = _Posts("")

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            """Quiet."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    posts.url = f"http://127.0.0.1:{httpd.server_port}/hook"
    return posts


def _task_runs(flow_run_id) -> list:
    """Task runs of a flow run and of its subflow runs (the dbt build, where every dbt node is a task)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def fetch():
        async with get_client() as client:
            children = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
            )
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id, *(c.id for c in children)])),
                limit=200,
            )

    return run_coro_as_sync(fetch())


def _task_run_names(flow_run_id, expect: tuple[str, ...] = ()) -> list[str]:
    """Names of the task runs; waits (30 s at most) until a name starting with each of `expect` is there, because
    the server records task runs from the client's events, a moment after the run finished."""
    deadline = time.monotonic() + 30
    while True:
        names = [r.name for r in _task_runs(flow_run_id)]
        if all(any(n.startswith(e) for n in names) for e in expect) or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def _task_run(task_run_id):
    from prefect.client.orchestration import get_client
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def fetch():
        async with get_client() as client:
            return await client.read_task_run(task_run_id)

    return run_coro_as_sync(fetch())


def _mart_fingerprints(wh) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every published mart, as readers see them."""
    out = {}
    with wh.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = 'marts' order by 1")
        for (name,) in cur.fetchall():
            cur.execute(f'select count(*), coalesce(sum(hashtext(t::text)::numeric), 0)::text from marts."{name}" t')
            out[name] = tuple(cur.fetchone())
    return out


def _node_artifact_rows(flow_run_id) -> list[dict]:
    """The rows of the dbt-build subflow's table artifact (every dbt node with its status)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def fetch():
        async with get_client() as client:
            children = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
            )
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["dbt-build-nodes"]))
            )
            ids = {c.id for c in children}
            return [a for a in artifacts if a.flow_run_id in ids]

    deadline = time.monotonic() + 30
    while True:
        found = run_coro_as_sync(fetch())
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(found) == 1, f"expected one dbt-build-nodes artifact, found {len(found)}"
    data = found[0].data
    return json.loads(data) if isinstance(data, str) else data


def _artifact_data(flow_run_id, key: str) -> str:
    """The data of the artifact `key` of one flow run (waits, 30 s at most, for the server to record it)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def fetch():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )

    deadline = time.monotonic() + 30
    while not (found := run_coro_as_sync(fetch())) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(found) == 1, f"expected one {key} artifact of run {flow_run_id}, found {len(found)}"
    return found[0].data


def test_nightly_publishes_then_the_gate_keeps_the_previous_night(
    prefect_harness, clean_env, sales_db, tiny_project, tmp_path
):
    from orchestration.flows import nightly
    from publishing import publish

    delta = tmp_path / "delta"
    params = dict(sources=[], database=sales_db.database, dbt_project_dir=str(tiny_project), delta_root=str(delta))
    posts = _webhook_receiver()
    os.environ["BANKWH_ALERT_WEBHOOK_URL"] = posts.url
    state = nightly(**params, return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["status"] == "published"
    assert summary["alerts"] == {"new": 0, "ongoing": 0, "resolved": 0, "errors": 0} and posts.bodies == []
    assert summary["dbt"]["failed_tests"] == []
    assert any(name.startswith("accepted_values_fact_sales_shop_id") for name in summary["dbt"]["warned_tests"])
    exported = {row["mart"]: row for row in summary["export"]}
    assert set(exported) == {"dim_shops", "fact_sales"}
    assert exported["fact_sales"]["rows"] == 200 and exported["fact_sales"]["parity_ok"]
    assert exported["fact_sales"]["partitions_rewritten"] == 3  # Jan, Feb, Mar 2025

    # readers see the published night under the marts' names, and both stores record the same night
    with sales_db.cursor() as cur:
        record = publish.last_published(cur)
        cur.execute("select table_type from information_schema.tables where table_schema = 'marts' "
                    "and table_name = 'fact_sales'")  # fmt: skip
        assert cur.fetchone()[0] == "VIEW"
    assert record is not None and record.schema == summary["schema"] in publish.SLOTS
    assert record.run_id == str(state.state_details.flow_run_id)
    assert record.dbt_invocation_id == summary["dbt"]["invocation_id"]
    assert record.mart_rows == {"dim_shops": 4, "fact_sales": 200}
    assert record.delta_versions == {"dim_shops": 0, "fact_sales": 0}
    assert publish.disagreements(delta, record) == []
    assert publish.last_published_in_delta(delta)["run_id"] == record.run_id

    # the flow's steps are tasks, and every dbt node is listed in the build's artifact
    steps_expected = ("connect-warehouse", "ensure-raw-tables", "send-alerts", "export-delta", "publish-night")
    names = _task_run_names(state.state_details.flow_run_id, expect=steps_expected)
    assert set(steps_expected) <= {n.rsplit("-", 1)[0] for n in names}
    nodes = {row["node"]: row["status"] for row in _node_artifact_rows(state.state_details.flow_run_id)}
    assert nodes["model.tiny_bank.fact_sales"] == nodes["model.tiny_bank.dim_shops"] == "success"
    assert nodes["test.tiny_bank.assert_no_negative_amounts"] == "pass"
    assert len(nodes) == summary["dbt"]["nodes"]

    # A negative amount fails an error-severity test: the run fails naming it, and readers keep the first night
    # in PostgreSQL and in Delta, to the row.
    before = _mart_fingerprints(sales_db)
    with sales_db.cursor() as cur:
        cur.execute("insert into src.sales values (9999, 2, '2025-04-01', -5.00)")
    # and a run killed between its export and the switch left a Delta version that was never published
    from deltalake import write_deltalake

    unpublished = DeltaTable(str(delta / "fact_sales")).to_pyarrow_table().slice(0, 1)
    write_deltalake(str(delta / "fact_sales"), unpublished, mode="append")
    assert publish.disagreements(delta, record) != []
    blocked = nightly(**params, return_state=True)
    assert blocked.is_failed()
    with pytest.raises(gate.PublishBlocked, match=r"assert_no_negative_amounts"):
        blocked.result()
    # in the UI: the failing test is a red task of the dbt subflow, named after it, and the night's summary names it
    # with its owners
    failed = [r for r in _task_runs(blocked.state_details.flow_run_id) if r.state and r.state.is_failed()]
    assert [r.name for r in failed] == ["fail assert_no_negative_amounts"]
    assert "test.tiny_bank.assert_no_negative_amounts" in failed[0].state.message
    assert "owners: unowned" in failed[0].state.message
    night = _artifact_data(blocked.state_details.flow_run_id, "nightly-summary")
    assert night.startswith("# Nightly run: blocked by the publish gate")
    assert "| test.tiny_bank.assert_no_negative_amounts | fail | unowned | 1 |" in night
    assert "Not exported tonight" in night
    assert _mart_fingerprints(sales_db) == before and before["fact_sales"][0] == 200
    fact = DeltaTable(str(delta / "fact_sales"))
    assert fact.to_pyarrow_table().num_rows == 200  # the interrupted run's version is rolled back
    assert DeltaTable(str(delta / "dim_shops")).version() == 0
    assert publish.disagreements(delta, record) == []
    with sales_db.cursor() as cur:
        assert publish.last_published(cur).run_id == record.run_id
        # the failed night was built and tested, in the schema readers do not see
        cur.execute(f"select count(*) from {publish.candidate_schema(sales_db)}.fact_sales")
        assert cur.fetchone()[0] == 201

    # the failing night alerted once, naming the test; the next green night resolves it with one message
    assert len(posts.bodies) == 1
    assert "NEW FAILURE" in posts.bodies[0] and "assert_no_negative_amounts" in posts.bodies[0]
    with sales_db.cursor() as cur:
        cur.execute("delete from src.sales where sale_id = 9999")
    mended = nightly(**params, return_state=True)
    assert mended.is_completed(), mended.message
    assert mended.result()["alerts"]["resolved"] == 1
    assert len(posts.bodies) == 2 and "RESOLVED" in posts.bodies[1] and "assert_no_negative_amounts" in posts.bodies[1]


def test_readers_see_one_whole_night_at_a_time(prefect_harness, clean_env, sales_db, tiny_project, tmp_path):
    """A reader polling the marts during a night never gets an error and never sees marts of two nights."""
    from orchestration.flows import nightly

    params = dict(sources=[], database=sales_db.database, dbt_project_dir=str(tiny_project),
                  delta_root=str(tmp_path / "delta"))  # fmt: skip
    assert nightly(**params)["status"] == "published"
    with sales_db.cursor() as cur:  # the next night: one more sale in a new shop (both marts change)
        cur.execute("insert into src.sales values (1001, 1, '2025-03-15', 10.00), (1002, 2, '2025-03-16', 5.00)")
        cur.execute("update src.sales set shop_id = 5 where sale_id = 1002")

    seen: list[tuple[int, int]] = []
    errors: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        conn = sales_db.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            while not stop.is_set():
                try:  # one statement: one snapshot of both marts
                    cur.execute(
                        "select (select count(*) from marts.fact_sales), (select count(*) from marts.dim_shops)"
                    )
                    seen.append(cur.fetchone())
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.005)
        conn.close()

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        assert nightly(**params)["status"] == "published"
        time.sleep(0.3)
    finally:
        stop.set()
        reader.join(10)
    assert errors == []
    assert len(seen) > 100
    assert set(seen) <= {(200, 4), (202, 5)}, set(seen)
    assert seen[0] == (200, 4) and seen[-1] == (202, 5)


def test_a_switch_refused_by_postgresql_rolls_delta_back(prefect_harness, clean_env, sales_db, tiny_project, tmp_path):
    """The export ran, then PostgreSQL refused the switch (here: someone created a table among the published
    views): the Delta tables go back to the published night, so neither store shows the unpublished one."""
    from orchestration.flows import nightly
    from publishing import publish

    delta = tmp_path / "delta"
    params = dict(sources=[], database=sales_db.database, dbt_project_dir=str(tiny_project), delta_root=str(delta))
    assert nightly(**params)["status"] == "published"
    before = _mart_fingerprints(sales_db)
    with sales_db.cursor() as cur:
        record = publish.last_published(cur)
        cur.execute("insert into src.sales values (1001, 1, '2025-05-02', 10.00)")
        cur.execute("create table marts.rogue (id int)")
    state = nightly(**params, return_state=True)
    assert state.is_failed()
    with pytest.raises(RuntimeError, match=r"holds tables \(rogue\)"):
        state.result()
    assert DeltaTable(str(delta / "fact_sales")).to_pyarrow_table().num_rows == 200
    with sales_db.cursor() as cur:
        cur.execute("drop table marts.rogue")
        assert publish.last_published(cur).run_id == record.run_id
    assert _mart_fingerprints(sales_db) == before
    assert publish.disagreements(delta, record) == []


def test_cli_night_that_fails_its_gate_exits_1_naming_the_test(
    prefect_harness, clean_env, sales_db, tiny_project, tmp_path, capsys, monkeypatch
):
    """`bankwh run`: a published night exits 0 and `bankwh status` shows it; a failing one exits 1 with one line."""
    os.environ["PGDATABASE"] = sales_db.database
    delta = tmp_path / "delta"
    monkeypatch.setenv("BANKWH_DBT_PROJECT_DIR", str(tiny_project))
    argv = ["run", "--sources", "", "--delta-root", str(delta)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "bankwh run: published in" in out
    assert cli.main(["status", "--delta-root", str(delta)]) == 0
    status = capsys.readouterr().out
    assert "published night: run" in status and "Delta Lake at" in status and "MISMATCH" not in status
    before = _mart_fingerprints(sales_db)
    with sales_db.cursor() as cur:
        cur.execute("insert into src.sales values (9999, 2, '2025-04-01', -5.00)")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bankwh run: error: publish gate closed")
    assert "assert_no_negative_amounts" in err[0]
    assert _mart_fingerprints(sales_db) == before
    assert cli.main(["status", "--delta-root", str(delta)]) == 0  # both stores still agree on the first night


@pytest.fixture
def run_log() -> list[str]:
    """Messages of the flow-run loggers. Prefect's loggers do not propagate to the root logger (so pytest's caplog
    sees them only when an earlier test changed the logging setup); a handler of our own sees them always."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.INFO)
    loggers = [logging.getLogger(name) for name in ("prefect.flow_runs", "prefect.task_runs")]
    for logger in loggers:
        logger.addHandler(handler)
    yield messages
    for logger in loggers:
        logger.removeHandler(handler)


def test_cli_run_without_ingest_and_dbt_exports_the_marts(
    prefect_harness, clean_env, sales_db, tmp_path, capsys, run_log
):
    with sales_db.cursor() as cur:
        cur.execute("create schema marts; create table marts.fact_sales as select * from src.sales")
    os.environ["PGDATABASE"] = sales_db.database
    root = tmp_path / "delta"
    assert cli.main(["run", "--sources", "", "--no-dbt", "--delta-root", str(root), "--timeout", "0"]) == 1
    assert "--timeout must be a positive number of seconds" in capsys.readouterr().err
    argv = ["run", "--sources", "", "--no-dbt", "--delta-root", str(root), "--timeout", "900", "--dbt-timeout", "600"]
    assert cli.main(argv) == 0
    assert "bankwh run: exported in" in capsys.readouterr().out
    # the run log carries the summary: rows and Delta version per mart
    assert re.search(r"fact_sales +rows +200 +Delta v0 +created +parity ok", "\n".join(run_log))
    assert DeltaTable(str(root / "fact_sales")).to_pyarrow_table().num_rows == 200


def test_unknown_source_is_refused(prefect_harness, clean_env):
    from orchestration.flows import nightly

    state = nightly(sources=["files", "ftp"], return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match=r"unknown source.*ftp"):
        state.result()


# --- time limits and retries -----------------------------------------------------------------------------


def _flow_tasks() -> list:
    """The Prefect tasks the nightly flow is made of (module-level Task objects of orchestration.tasks)."""
    from prefect import Task

    from orchestration import tasks

    return [obj for obj in vars(tasks).values() if isinstance(obj, Task)]


def test_every_task_of_the_nightly_flow_has_a_timeout():
    from prefect import Flow

    from orchestration import flows, retries

    tasks = {t.name: t for t in _flow_tasks()}
    assert set(tasks) == {
        "connect-warehouse",
        "ensure-raw-tables",
        "ingest-files",
        "ingest-api",
        "ingest-berka",
        "source-freshness",
        "send-alerts",
        "record-history",
        "export-delta",
        "publish-night",
    }
    for name, t in tasks.items():
        assert t.timeout_seconds and t.timeout_seconds > 0, f"task {name} has no timeout"
    # the dbt build is a subflow: it carries the build's limit
    assert isinstance(flows.dbt_build, Flow) and flows.dbt_build.timeout_seconds == flows.DBT_TIMEOUT_S > 0
    assert flows.nightly.timeout_seconds == flows.RUN_TIMEOUT_S >= flows.DBT_TIMEOUT_S
    assert "dbt_timeout_s" in flows.nightly.parameters.properties
    # the transient steps share one backoff; the export retries only on database connection errors
    for name in ("connect-warehouse", "ensure-raw-tables", "ingest-files", "ingest-api", "ingest-berka"):
        assert tasks[name].retries > 0 and tasks[name].retry_condition_fn is retries.retry_if_transient, name
    export = tasks["export-delta"]
    assert export.retries == tasks["ingest-files"].retries
    assert export.retry_delay_seconds == tasks["ingest-files"].retry_delay_seconds
    assert export.retry_jitter_factor == tasks["ingest-files"].retry_jitter_factor
    assert export.retry_condition_fn is retries.retry_if_connection_lost


def test_dbt_build_stops_at_its_time_limit(prefect_harness, clean_env, sales_db, tiny_project, tmp_path):
    from orchestration.flows import nightly

    # a model that takes 3 s, so the build cannot finish inside its limit however warm dbt's parse cache is
    (tiny_project / "models" / "marts" / "slow_mart.sql").write_text("select 1 as one from pg_sleep(3)")
    state = nightly(
        sources=[], export=False, database=sales_db.database, dbt_project_dir=str(tiny_project),
        dbt_target_dir=str(tmp_path / "target"), dbt_timeout_s=0.5, return_state=True,
    )  # fmt: skip
    assert state.is_failed()
    # Prefect's own timeout error, or the dbt step's when dbt caught Prefect's interruption first
    with pytest.raises(TimeoutError, match=r"(timed out after|time limit of) 0\.5"):
        state.result()


class FlakyProxy:
    """A real TCP listener on 127.0.0.1 that closes its first `drop` connections at once and pipes every later
    one to the PostgreSQL server (over TCP, or its Unix socket): to the client, a server that refused once and then
    came back."""

    def __init__(self, target_host: str, target_port: int, drop: int = 1):
        import socket

        self.target = (target_host, target_port)
        self.drop = drop
        self.dropped = 0
        self.proxied = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed: stop serving
                return
            if self.dropped < self.drop:
                self.dropped += 1
                client.close()
                continue
            self.proxied += 1
            host, port = self.target
            if host.startswith("/"):  # a socket directory (the embedded server listens on a Unix socket)
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(f"{host}/.s.PGSQL.{port}")
            else:
                upstream = socket.create_connection(self.target)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        """Copy one direction until either side closes; then close both (the other direction ends too)."""
        import contextlib

        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(2)
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def sales_marts(sales_db):
    with sales_db.cursor() as cur:
        cur.execute("create schema marts; create table marts.fact_sales as select * from src.sales")
    return sales_db


def test_export_retries_when_the_database_refused_the_first_connection(prefect_harness, sales_marts, tmp_path):
    from dataclasses import replace

    from orchestration import tasks

    proxy = FlakyProxy(sales_marts.host, sales_marts.port, drop=1)
    try:
        flaky = replace(sales_marts, host="127.0.0.1", port=proxy.port)
        export = tasks.export_delta.with_options(retry_delay_seconds=0)  # the real condition, no waiting
        state = export(flaky, str(tmp_path / "delta"), "marts", False, return_state=True)
    finally:
        proxy.close()
    assert state.is_completed(), state.message
    assert proxy.dropped == 1 and proxy.proxied >= 1
    assert _task_run(state.state_details.task_run_id).run_count == 2  # failed once, retried once
    (row,) = state.result()
    assert (row["mart"], row["rows"], row["parity_ok"]) == ("fact_sales", 200, True)
    assert DeltaTable(str(tmp_path / "delta" / "fact_sales")).to_pyarrow_table().num_rows == 200


def test_export_does_not_retry_a_schema_change(prefect_harness, sales_marts, tmp_path):
    from orchestration import tasks
    from publishing.delta_export import ExportError

    export = tasks.export_delta.with_options(retry_delay_seconds=0)
    assert export(sales_marts, str(tmp_path / "delta"), "marts", False, return_state=True).is_completed()
    with sales_marts.cursor() as cur:
        cur.execute("alter table marts.fact_sales drop column amount")
    state = export(sales_marts, str(tmp_path / "delta"), "marts", False, return_state=True)
    assert state.is_failed()
    with pytest.raises(ExportError, match="amount"):
        state.result()
    assert _task_run(state.state_details.task_run_id).run_count == 1  # same answer every time: not retried


def test_export_retry_condition_accepts_only_connection_errors(fresh_db):
    """The condition on real exceptions: psycopg2's own error for a closed port, and the export's verdicts."""
    import socket

    import psycopg2
    from prefect.states import Failed

    from orchestration import retries
    from publishing.delta_export import ExportError, ParityError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(host="127.0.0.1", port=closed_port, user="postgres", dbname="postgres", connect_timeout=3)
    with pytest.raises(psycopg2.errors.UndefinedTable) as missing, fresh_db.cursor() as cur:
        cur.execute("select * from marts.no_such_mart")

    def retried(exc: BaseException) -> bool:
        return retries.retry_if_connection_lost(None, None, Failed(data=exc))

    assert retried(refused.value)
    assert not retried(ExportError("1 of 1 mart(s) not exported: mart fact_connections lost column amount", []))
    assert not retried(ParityError("fact_sales: 200 rows in PostgreSQL, 199 in Delta", {}))
    assert not retried(missing.value)  # a programming error in SQL heals by no amount of waiting


# --- no overlapping runs ---------------------------------------------------------------------------------


def test_second_run_is_refused_or_waits_while_the_lock_is_held(fresh_db):
    held, release = threading.Event(), threading.Event()

    def first():
        with locking.exclusive(fresh_db, "nightly", owner="first-run"):
            held.set()
            release.wait(30)

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert held.wait(30)
        with (
            pytest.raises(locking.LockBusyError, match=r"already running: lock held by bankwh lock nightly first-run"),
            locking.exclusive(fresh_db, "nightly", wait=False),
        ):
            pass
        with (
            pytest.raises(locking.LockBusyError, match="gave up"),
            locking.exclusive(fresh_db, "nightly", wait=True, timeout_s=0.3, poll_s=0.1, log=lambda _: None),
        ):
            pass
        assert locking.holder(fresh_db, "nightly").startswith("bankwh lock nightly first-run")
    finally:
        release.set()
        worker.join(30)
    with locking.exclusive(fresh_db, "nightly", wait=False):
        pass  # free again once the first run ended
    assert locking.holder(fresh_db, "nightly") is None


def _locked_section(wh, journal: str, tag: str) -> None:
    with locking.exclusive(wh, "nightly", wait=True, poll_s=0.05, log=lambda _: None):
        with open(journal, "a") as fh:
            fh.write(f"start {tag}\n")
        time.sleep(0.5)  # widen the window in which an interleaving run would show up
        with open(journal, "a") as fh:
            fh.write(f"end {tag}\n")


def test_two_processes_never_interleave(fresh_db, tmp_path):
    journal = str(tmp_path / "journal.txt")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_locked_section, args=(fresh_db, journal, tag)) for tag in ("a", "b", "c")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = Path(journal).read_text().split("\n")[:-1]
    assert len(lines) == 6
    for i in range(0, 6, 2):
        assert lines[i].startswith("start ") and lines[i + 1] == "end " + lines[i].split()[1]


def test_flow_refuses_to_start_while_another_run_holds_the_lock(prefect_harness, clean_env, fresh_db):
    from orchestration.flows import nightly

    with locking.exclusive(fresh_db, "nightly", owner="manual-run"):
        state = nightly(
            sources=[], run_dbt=False, export=False, database=fresh_db.database, wait_for_lock=False,
            return_state=True,
        )  # fmt: skip
    assert state.is_failed()
    with pytest.raises(locking.LockBusyError, match="manual-run"):
        state.result()


# --- publish gate on dbt artifacts -----------------------------------------------------------------------


def test_gate_reads_run_results_and_blocks_only_on_error_severity(tmp_path):
    def artifact(results):
        path = tmp_path / "run_results.json"
        path.write_text(json.dumps({"results": [{"unique_id": u, "status": s, "message": m} for u, s, m in results]}))
        return gate.from_run_results(path)

    passing = artifact(
        [
            ("model.bank_warehouse.fact_transactions", "success", "SELECT 10"),
            ("test.bank_warehouse.not_null_fact_transactions_amount.1a2b3c", "pass", ""),
            ("test.bank_warehouse.accepted_values_dim_clients_segment.9f8e7d", "warn", "Got 2 results"),
        ]
    )
    gate.check(passing)  # warnings do not block
    assert [r.name for r in gate.warnings(passing)] == ["accepted_values_dim_clients_segment"]

    failing = artifact(
        [
            ("model.bank_warehouse.fact_loans", "error", "relation does not exist"),
            ("model.bank_warehouse.fact_payments", "skipped", ""),
            ("test.bank_warehouse.assert_balances_reconcile", "fail", "Got 3 results"),
            ("test.bank_warehouse.unique_fact_transactions_transaction_id.5d6e", "pass", ""),
        ]
    )
    with pytest.raises(gate.PublishBlocked) as info:
        gate.check(failing)
    message = str(info.value)
    assert "1 failing error-severity test(s): assert_balances_reconcile" in message
    assert "model.bank_warehouse.fact_loans" in message and "fact_payments" not in message
    assert "the previous night stays published" in message


# --- schedule and deployment layout ----------------------------------------------------------------------


def test_schedule_loads_from_prefect_yaml():
    from orchestration.flows import nightly

    deployment = serve.load_deployment()
    schedule = serve.schedule_of(deployment)
    assert (schedule.cron, schedule.timezone) == ("0 2 * * *", "Europe/Paris")
    assert serve.schedule_of(deployment, timezone="America/New_York").timezone == "America/New_York"

    runner_deployment = nightly.to_deployment(name=deployment["name"], schedules=[schedule])
    (created,) = runner_deployment.schedules
    assert created.schedule.cron == "0 2 * * *" and created.schedule.timezone == "Europe/Paris"

    module, attr = deployment["entrypoint"].split(":")
    assert (PROJECT_ROOT / module).exists()
    assert getattr(__import__(module[:-3].replace("/", "."), fromlist=[attr]), attr).name == "nightly"
    assert deployment["work_pool"]["name"]
    assert set(deployment["parameters"]) <= set(nightly.parameters.properties)


def test_bankwh_run_as_a_process_exits_with_the_truth(clean_env, sales_db, tiny_project, tmp_path):
    """The real command in its own process, with its own temporary Prefect server: a night that publishes exits 0
    and the process ends cleanly (no abort while the interpreter shuts down); a night that fails its gate exits 1
    with one line naming the test. Nothing of Prefect's is left running."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(sales_db.env())
    env.update(
        BANKWH_PROJECT_DIR=str(PROJECT_ROOT),  # run from a folder outside the project: name it, as a worker does
        BANKWH_DBT_PROJECT_DIR=str(tiny_project),
        PREFECT_HOME=str(tmp_path / "prefect"),  # a Prefect database of its own
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    env.pop("BANKWH_MARTS_SCHEMA", None)
    argv = [sys.executable, "-m", "bankwh.cli", "run", "--sources", "", "--delta-root", str(tmp_path / "d")]

    good = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert good.returncode == 0, good.stderr[-3000:]
    assert good.stdout.strip().splitlines()[-1].startswith("bankwh run: published in")
    assert "FATAL" not in good.stderr and "Traceback" not in good.stderr

    with sales_db.cursor() as cur:
        cur.execute("insert into src.sales values (9999, 2, '2025-04-01', -5.00)")
    bad = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert bad.returncode == 1, bad.stderr[-3000:]
    errors = [line for line in bad.stderr.splitlines() if line.startswith("bankwh run:")]
    assert len(errors) == 1 and "publish gate closed" in errors[0] and "assert_no_negative_amounts" in errors[0]
    assert "FATAL" not in bad.stderr and "Traceback" not in bad.stderr
    assert with_env(f"PREFECT_HOME={tmp_path / 'prefect'}") == []


def test_retry_decision_is_by_exception_type_not_by_words():
    import psycopg2
    import requests

    from orchestration.retries import is_transient

    def http_error(status: int) -> requests.HTTPError:
        response = requests.Response()
        response.status_code = status
        return requests.HTTPError(f"{status} from the bank API", response=response)

    def wrapped(inner: BaseException) -> RuntimeError:
        try:
            raise RuntimeError("pipeline step failed") from inner
        except RuntimeError as outer:
            return outer

    assert is_transient(psycopg2.OperationalError("server closed the connection unexpectedly"))
    assert is_transient(wrapped(ConnectionRefusedError(111, "refused")))
    assert is_transient(wrapped(http_error(503))) and is_transient(http_error(429))
    assert not is_transient(http_error(404)) and not is_transient(wrapped(http_error(401)))
    # the words of a message decide nothing
    assert not is_transient(ValueError("connection timed out, 503, temporarily unavailable"))
    assert not is_transient(RuntimeError("2 landing file(s) failed: connection column missing"))


def test_deployment_entrypoint_loads_the_flow_from_its_file(monkeypatch):
    """`prefect deploy` and a worker load the flow from the file path in prefect.yaml, outside the package: the
    module must import without relative imports ("Empty module name" before). Loading puts the flow's folder on
    sys.path, where dbt then imports every `dbt_*` module as a plugin: the folder must hold none."""
    import sys

    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.setattr(sys, "path", list(sys.path))  # loading the file extends sys.path; undo it afterwards
    entrypoint = serve.load_deployment()["entrypoint"]
    path = PROJECT_ROOT / entrypoint.split(":")[0]
    assert load_flow_from_entrypoint(str(PROJECT_ROOT / entrypoint)).name == "nightly"
    assert str(path.parent) in sys.path
    assert sorted(p.name for p in path.parent.glob("dbt_*.py")) == []


def test_a_database_stopped_mid_run_is_one_line_and_exit_1(tiny_project, tmp_path):
    """The warehouse server stops while dbt builds: `bankwh run` exits 1 (not 134) with one line naming the cause,
    no traceback about releasing the lock, and no Prefect server left behind."""
    import signal
    import subprocess
    import sys

    from warehouse import embedded

    def bankwh(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bankwh.cli", *args], env=env, capture_output=True,
                              text=True, timeout=300, check=False, **kwargs)  # fmt: skip

    # a server of this test's own, which it can stop; and a model slow enough to be running when it stops
    (tiny_project / "models" / "marts" / "fact_slow_sales.sql").write_text(
        "select sales.*, (select pg_sleep(30)) is null as slept from {{ ref('fact_sales') }} as sales"
    )
    import shutil
    import socket
    import tempfile

    import psycopg2

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # not under pytest's temporary root, which another pytest session may make private to root (0700) at any time
    root = Path(tempfile.mkdtemp(prefix="bankwh-stop-")) / "wh"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PREFECT_", "BANKWH_"))}
    env.update(BANKWH_WAREHOUSE_DIR=str(root), BANKWH_EMBEDDED_PORT=str(port), BANKWH_DBT_PROJECT_DIR=str(tiny_project),
               BANKWH_PROJECT_DIR=str(PROJECT_ROOT), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")  # fmt: skip
    run = None
    try:
        started = bankwh("db", "start")
        assert started.returncode == 0, started.stderr
        exports = [line.removeprefix("export ").replace("'", "") for line in bankwh("db", "env").stdout.splitlines()]
        pg = dict(line.split("=", 1) for line in exports if "=" in line)
        connect = dict(host=pg["PGHOST"], port=pg["PGPORT"], user=pg["PGUSER"], dbname=pg["PGDATABASE"])
        with psycopg2.connect(**connect) as conn:
            conn.cursor().execute(
                "create schema src; create table src.sales as select g as sale_id, 1 + g % 3 as shop_id, "
                "date '2025-01-01' + g as sold_on, g::numeric(18, 2) as amount from generate_series(1, 50) g"
            )
        run = subprocess.Popen([sys.executable, "-m", "bankwh.cli", "run", "--sources", "",
                                "--delta-root", str(tmp_path / "d")], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        seen = []
        for line in run.stdout:  # the run log and the command's own lines, as they come
            seen.append(line)
            if "dbt build into" in line:
                break
        time.sleep(8)  # the slow model is running now
        assert run.poll() is None, "".join(seen)
        assert bankwh("db", "stop").returncode == 0
        err = "".join(seen) + run.communicate(timeout=300)[0]
    finally:
        if run is not None and run.poll() is None:
            run.send_signal(signal.SIGKILL)
        embedded.destroy(root)
        shutil.rmtree(root.parent, ignore_errors=True)
    assert run.returncode == 1, err[-3000:]
    lines = [line for line in err.splitlines() if line.startswith("bankwh run:")]
    assert len(lines) == 1, err[-3000:]
    # the cause is named: the database went away (dbt stopped, or the gate closed on nodes that lost it)
    assert re.search(r"(?i)connection|terminating|server", lines[0]), lines[0]
    assert "FATAL: exception not rethrown" not in err and "pg_advisory_unlock" not in err
    assert with_env(f"PREFECT_HOME={tmp_path / 'prefect'}") == []


def test_gate_message_stays_one_readable_line_when_every_node_failed():
    """A lost database fails hundreds of nodes: the message names the first few, how many more, and the first
    node's own error (the cause), on one line."""
    results = [gate.NodeResult(f"model.bank_warehouse.m{i:03d}", "error", "connection refused\nretry")
               for i in range(40)]  # fmt: skip
    with pytest.raises(gate.PublishBlocked) as blocked:
        gate.check(results)
    message = str(blocked.value)
    assert "\n" not in message
    assert "40 failed node(s): model.bank_warehouse.m000" in message and "m011 and 28 more" in message
    assert "m012" not in message and message.endswith("first error: connection refused")
