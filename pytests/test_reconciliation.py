"""The night's reconciliation (monitoring/reconciliation.py) and the owners of sources and seeds, on one real night.

`quality_night` is one nightly flow (files + API, real dbt build, gate, Delta export, publish) on a generated bank:
scale 0.05, the 46 days from Monday 2025-01-06, seed 12, 2 % defects, with a volume drop planted on Wednesday
2025-02-19 (80 % of the everyday activity missing). test_anomalies.py and test_audit_trail.py read the same night;
the fixture runs once per test session whichever module asks first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_alerts import Mailbox, _smtp_env, mailbox  # noqa: F401  (the SMTP server fixture)
from test_flow import _webhook_receiver

from warehouse import Warehouse

START, DAYS, SEED, SCALE, DEFECT_RATE = "2025-01-06", 46, 12, 0.05, 0.02
DROP_DAY, DROP_SHARE = "2025-02-19", 0.8
CORE_OWNER = "core-banking-data@example.org"
_NIGHT: dict[str, Any] = {}  # one night per session, shared by the modules that import the fixture


@dataclass
class QualityNight:
    wh: Warehouse
    work: Path  # raw/ (landing files), delta/, target/ (dbt artifacts)
    state: Any  # Prefect state of the night
    run_id: str
    summary: dict[str, Any]
    schema: str  # the candidate schema the night published
    webhook: list[str]  # bodies of the alerts posted that night

    def rows(self, sql: str, *params) -> list[tuple]:
        with self.wh.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()


@pytest.fixture(scope="session")
def quality_night(
    server: Warehouse, prefect_harness, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QualityNight]:
    """The generated bank with its planted drop through one real night; the database is dropped at the end."""
    if "night" in _NIGHT:
        yield _NIGHT["night"]
        return
    if "failed" in _NIGHT:  # another module's copy of this fixture ran the night already: do not run it again
        pytest.fail(_NIGHT["failed"])
    from bank_sim.api.server import start_server, stop_server
    from bank_sim.generator import Settings, generate
    from orchestration.flows import nightly

    work = tmp_path_factory.mktemp("quality")
    settings = Settings(scale=SCALE, days=DAYS, seed=SEED, start=START, defect_rate=DEFECT_RATE, drop_day=DROP_DAY,
                        drop_share=DROP_SHARE)  # fmt: skip
    generate(settings, work / "raw", log=lambda *_: None)
    name = f"bankwh_quality_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    wh = server.with_database(name)
    posts = _webhook_receiver()
    saved = dict(os.environ)
    os.environ["BANKWH_ALERT_WEBHOOK_URL"] = posts.url
    api = start_server(work)
    try:
        state = nightly(sources=["files", "api"], data_dir=str(work / "raw"), api_url=api[0].url,
                        delta_root=str(work / "delta"), database=name, dbt_target_dir=str(work / "target"),
                        wait_for_lock=False, return_state=True)  # fmt: skip
    finally:
        stop_server(*api)
        os.environ.clear()
        os.environ.update(saved)
    if not state.is_completed():
        _NIGHT["failed"] = f"the quality night did not publish: {state.message}"
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        pytest.fail(_NIGHT["failed"])
    summary = state.result()
    night = QualityNight(wh, work, state, str(state.state_details.flow_run_id), summary, summary["schema"],
                         posts.bodies)  # fmt: skip
    _NIGHT["night"] = night
    try:
        yield night
    finally:
        if not os.environ.get("BANKWH_TEST_KEEP_DB"):
            with server.cursor() as cur:
                cur.execute(f'drop database if exists "{name}" with (force)')


def _steps(night: QualityNight, run_id: str) -> dict[tuple[str, str, str], tuple]:
    rows = night.rows(
        "select source_system, entity, from_stage || '>' || to_stage, to_table, rows_in, rows_out, explained_rows, "
        "unexplained_rows, unexplained_amount from monitoring.reconciliation where run_id = %s",
        run_id,
    )
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def test_demo_bank_reconciles_with_zero_unexplained_difference(quality_night: QualityNight) -> None:
    """Every step of the night, landing files → raw → staging → marts, balances: the gaps are all quarantined lines,
    rejected rows or removed duplicates, and the published figure is 0."""
    night = quality_night
    assert night.summary["quality"]["unexplained_rows"] == 0 and night.summary["quality"]["unbalanced"] == []
    steps = _steps(night, night.run_id)
    core = {k[2]: v for k, v in steps.items() if k[:2] == ("core_banking", "transactions")}
    assert set(core) == {"landing>raw", "raw>staging", "staging>marts"}
    landing, staged, marts = core["landing>raw"], core["raw>staging"], core["staging>marts"]
    assert landing[0] == "raw_core_banking.transactions" and marts[0] == f"{night.schema}.fact_transactions"
    assert landing[3] > 0 and marts[3] > 0  # there were gaps (quarantined lines; rejected rows and duplicates)
    assert landing[2] == staged[1] == staged[2] and marts[1] == staged[2]  # what one step lets out, the next takes in
    (fact_rows,) = night.rows(f"select count(*) from {night.schema}.fact_transactions")[0]
    assert marts[2] == fact_rows
    assert {v[4] for v in steps.values()} == {0} and {v[5] for v in steps.values()} <= {None, Decimal("0.00")}
    entities = {k[1] for k in steps if k[2] == "landing>raw"}
    assert {"transactions", "balances", "clients", "accounts", "postings"} <= entities


def test_a_row_deleted_behind_the_pipelines_back_is_unexplained_and_named(quality_night: QualityNight) -> None:
    """A fact row and a raw row deleted by hand leave non-zero unexplained differences on the steps that name their
    tables, in rows and amount, and the gaps are alerts (error) that name the table; putting the rows back
    balances the steps again."""
    from monitoring import AlertConfig, reconciliation, send_alerts

    night, fact = quality_night, f"{quality_night.schema}.fact_transactions"
    conn = night.wh.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"create table public.deleted_fact as select * from {fact} where rows_delivered = 1 "
                        "and source_system = 'core_banking' order by transaction_key limit 1")  # fmt: skip
            cur.execute(f"delete from {fact} where transaction_key = (select transaction_key from public.deleted_fact)")
            cur.execute("create table public.deleted_raw as select * from raw_core_banking.balances limit 1")
            cur.execute("delete from raw_core_banking.balances as b using public.deleted_raw as d "
                        "where b._file_name = d._file_name and b._line_number = d._line_number")  # fmt: skip
            cur.execute("select amount from public.deleted_fact")
            (amount,) = cur.fetchone()
        steps, findings = reconciliation.reconcile(conn, "tampered-night", night.schema)
        posts = _webhook_receiver()
        outcome = send_alerts(conn, "tampered-night", findings, AlertConfig(webhook_url=posts.url))
        with conn, conn.cursor() as cur:
            cur.execute(f"insert into {fact} select * from public.deleted_fact")
            cur.execute("insert into raw_core_banking.balances select * from public.deleted_raw")
            cur.execute("drop table public.deleted_fact, public.deleted_raw")
        mended, _ = reconciliation.reconcile(conn, "mended-night", night.schema)
    finally:
        conn.close()

    recorded = _steps(night, "tampered-night")
    assert recorded[("core_banking", "transactions", "staging>marts")][0] == fact
    assert recorded[("core_banking", "transactions", "staging>marts")][4:] == (1, amount)
    assert recorded[("core_banking", "balances", "landing>raw")][0] == "raw_core_banking.balances"
    assert recorded[("core_banking", "balances", "landing>raw")][4] == 1
    unbalanced = {v[0] for v in recorded.values() if v[4] or v[5]}
    assert unbalanced == {fact, "raw_core_banking.balances"}
    assert reconciliation.unexplained_difference(steps) == 2
    assert sorted(f.status for f in findings.failures) == ["error", "error"]
    assert set(outcome.keys("new")) == {f.unique_id for f in findings.failures}
    (body,) = posts.bodies
    assert "NEW FAILURE" in body and fact in body and "raw_core_banking.balances" in body and "+1 rows" in body
    assert reconciliation.unexplained_difference(mended) == 0 and all(s.balanced for s in mended)


def test_every_source_and_seed_declares_an_owner_with_an_address(quality_night: QualityNight) -> None:
    """The build's manifest: each source table and seed has an owner with an e-mail address in its dbt meta."""
    import json

    from monitoring.findings import owners_of

    manifest = json.loads((quality_night.work / "target" / "manifest.json").read_text())
    nodes = [*manifest["sources"], *(u for u in manifest["nodes"] if u.startswith("seed."))]
    owners = {u: owners_of(manifest, u) for u in nodes}
    assert len([u for u in nodes if u.startswith("seed.")]) >= 5
    assert [u for u, found in owners.items() if not found or not all(o.email for o in found)] == []
    assert {o.email for o in owners["source.bank_warehouse.core_banking.transactions"]} == {CORE_OWNER}


def test_a_stale_source_alerts_its_owner_by_email(quality_night: QualityNight, mailbox: Mailbox) -> None:  # noqa: F811
    """A real `dbt source freshness` on a source made stale behind the pipeline's back: the alert e-mail reaches
    the owner its dbt meta declares (and the team's address), naming the source."""
    from dbt_helpers import run_dbt

    from monitoring import AlertConfig, freshness_findings, freshness_from_artifacts, send_alerts

    night = quality_night
    with night.wh.cursor() as cur:
        cur.execute("update raw_core_banking.fraud_labels set _loaded_at = _loaded_at - interval '30 days'")
    try:
        run = run_dbt(night.wh, ["source", "freshness", "--select", "source:core_banking.fraud_labels"],
                      night.work / "freshness")  # fmt: skip
    finally:
        with night.wh.cursor() as cur:
            cur.execute("update raw_core_banking.fraud_labels set _loaded_at = _loaded_at + interval '30 days'")
    target = night.work / "freshness" / "target"
    results = freshness_from_artifacts(target / "sources.json", target / "manifest.json")
    assert [(r.table_name, r.status) for r in results] == [("fraud_labels", "error")], run.statuses
    conn = night.wh.connect()
    try:
        config = AlertConfig.from_env(_smtp_env(mailbox))
        outcome = send_alerts(conn, "stale-night", freshness_findings(results), config)
    finally:
        conn.close()
    assert CORE_OWNER in outcome.emailed
    (message,) = mailbox.to(CORE_OWNER)
    body = message.get_content()
    assert "core_banking.fraud_labels freshness" in body and f"Core banking team <{CORE_OWNER}>" in body


def test_a_source_table_takes_its_sources_owner_unless_it_declares_its_own() -> None:
    """Owners written on the source itself (dbt's `source_meta`) reach its tables; a table's own meta wins."""
    from monitoring.findings import Owner, owners_of

    feeds = {"owner": "Feeds team", "owner_email": "feeds@example.org"}
    manifest = {"sources": {
        "source.p.feeds.rates": {"resource_type": "source", "source_meta": feeds, "meta": {}, "config": {"meta": {}}},
        "source.p.feeds.sales": {"resource_type": "source", "source_meta": feeds,
                                 "config": {"meta": {"owner": "Sales desk", "owner_email": "sales@example.org"}}},
        "source.p.other.x": {"resource_type": "source", "meta": {}, "config": {}},
    }}  # fmt: skip
    assert owners_of(manifest, "source.p.feeds.rates") == (Owner("Feeds team", "feeds@example.org"),)
    assert owners_of(manifest, "source.p.feeds.sales") == (Owner("Sales desk", "sales@example.org"),)
    assert owners_of(manifest, "source.p.other.x") == ()


def test_a_fact_tonights_build_did_not_build_is_not_reconciled(fresh_db: Warehouse) -> None:
    """A night whose build skipped fact_transactions leaves an older night's table in the candidate schema: the step
    into it is not measured (its gap would be no one's), while a night that built it, or checks run by hand, are."""
    from monitoring import history
    from monitoring.reconciliation import FACT_NODE, built_tonight

    conn = fresh_db.connect()
    try:
        history.ensure_tables(conn)
        nights = (("skipped-night", "skipped"), ("built-night", "success"))
        rows = [{"run_id": run, "unique_id": FACT_NODE, "resource_type": "model", "name": "fact_transactions",
                 "status": status} for run, status in nights]  # fmt: skip
        rows.append({"run_id": "skipped-night", "unique_id": "model.bank_warehouse.dim_dates",
                     "resource_type": "model", "name": "dim_dates", "status": "success"})  # fmt: skip
        history.append(conn, "dbt_node_results", rows)
        with conn.cursor() as cur:
            runs = ("skipped-night", "built-night", "by-hand")
            verdicts = [built_tonight(cur, run, "fact_transactions") for run in runs]
    finally:
        conn.close()
    assert verdicts == [False, True, True]
