"""The dbt project against a real PostgreSQL: parse, build on a planted-defect bank, gates, incremental parity.

The session fixture loads the fixture bank (pytests/dbt_helpers.py) in two deliveries, the way the nightly
pipeline sees it: days 1-4 first, then days 5-7 (with the late-arriving transaction, a re-delivered account
change and the file with the extra column). Every test reads that warehouse; the last ones plant bad rows and
remove them again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_helpers import (
    REJECTING_DEFECTS,
    DbtRun,
    RawBank,
    _day,
    build_bank,
    load_raw,
    query,
    run_dbt,
    undocumented_source_columns,
)

from orchestration import PROJECT_ROOT
from orchestration.warehouse import Warehouse

LOOKBACK = 2  # days; small so the second build really leaves older rows alone
VARS = ["--vars", json.dumps({"late_arrival_lookback_days": LOOKBACK})]
BALANCE_GATE = "assert_balances_reconcile_with_movements"
FACT = "model.bank_warehouse.fact_transactions"


@dataclass
class BuiltWarehouse:
    wh: Warehouse
    bank: RawBank
    work: Path
    first: DbtRun
    balance_gate_before_late_row: DbtRun
    second: DbtRun


@pytest.fixture(scope="module")
def bank_db(server: Warehouse) -> Iterator[Warehouse]:
    """A database of this module's own: the session database may hold the Czech bank (test_berka.py loads it
    there), and these tests need a warehouse whose raw_berka schema was never created."""
    name = f"bankwh_dbt_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    yield server.with_database(name)
    if not os.environ.get("BANKWH_TEST_KEEP_DB"):
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def built(bank_db: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    work = tmp_path_factory.mktemp("dbt")
    bank = build_bank()
    load_raw(bank_db, bank, through=_day(3))
    # no raw_berka schema here: the Czech bank's models must build empty (the demo without Berka)
    first = run_dbt(bank_db, ["build", "--exclude", BALANCE_GATE, *VARS], work)
    gate = run_dbt(bank_db, ["test", "--select", BALANCE_GATE], work)
    load_raw(bank_db, bank, through=_day(6), after=_day(3))
    second = run_dbt(bank_db, ["build", *VARS], work)
    return BuiltWarehouse(bank_db, bank, work, first, gate, second)


def _manifest(work: Path) -> dict:
    return json.loads((work / "target" / "manifest.json").read_text())


def _own(node: dict) -> bool:
    return node.get("package_name") == "bank_warehouse"


def test_every_model_column_source_and_seed_is_described_and_marts_have_contracts(built: BuiltWarehouse) -> None:
    manifest = _manifest(built.work)
    undocumented = []
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed", "snapshot") or not _own(node):
            continue
        if not node["description"].strip():
            undocumented.append(node["unique_id"])
        undocumented += [f"{node['unique_id']}.{c}" for c, col in node["columns"].items() if not col["description"]]
        if node["resource_type"] == "model" and node["schema"] == "marts":
            assert node["config"]["contract"]["enforced"], node["unique_id"]
            assert node["columns"] and all(col["data_type"] for col in node["columns"].values()), node["unique_id"]
    undocumented += [s["unique_id"] for s in manifest["sources"].values() if _own(s) and not s["description"]]
    assert undocumented == []
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert {
        "dim_clients",
        "dim_accounts",
        "dim_products",
        "dim_dates",
        "dim_satisfaction",
        "fact_transactions",
        "fact_loans",
        "fact_payments",
        "fact_revenue",
        "fact_fraud",
    } <= marts
    unit_tests = {u["name"] for u in manifest["unit_tests"].values()}
    assert len(unit_tests) >= 6
    assert manifest["exposures"] and manifest["metrics"] and manifest["semantic_models"]


PRIMARY_KEY_TESTS = ("expect_compound_columns_to_be_unique", "unique_combination_of_columns")


def _models(manifest: dict) -> dict[str, dict]:
    return {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model" and _own(n)}


def _primary_key_gaps(manifest: dict) -> list[str]:
    """Models without a key test: unique and not_null on one column, or a compound-uniqueness test."""
    tests_by_model: dict[str, list[dict]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node"):
            tests_by_model.setdefault(node["attached_node"], []).append(node)
    gaps = []
    for uid in _models(manifest):
        tests = tests_by_model.get(uid, [])
        names = {(t["test_metadata"]["name"], t.get("column_name")) for t in tests if t.get("test_metadata")}
        single = any(("not_null", column) in names for kind, column in names if kind == "unique" and column)
        compound = any(kind in PRIMARY_KEY_TESTS for kind, _ in names)
        if not (single or compound):
            gaps.append(uid)
    return gaps


def _layer(node: dict) -> str:
    return node["original_file_path"].split("/")[1] if node["resource_type"] == "model" else node["resource_type"]


def _layer_breaches(manifest: dict) -> list[str]:
    """Staging reads only sources and seeds; nothing outside staging reads a source."""
    breaches = []
    for uid, node in _models(manifest).items():
        parents = node["depends_on"]["nodes"]
        if _layer(node) == "staging":
            breaches += [f"{uid} <- {p}" for p in parents if p.split(".")[0] not in ("source", "seed")]
        else:
            breaches += [f"{uid} <- {p}" for p in parents if p.startswith("source.")]
    return breaches


def test_every_model_has_a_key_descriptions_and_reads_its_own_layer(built: BuiltWarehouse) -> None:
    """The project's modelling rules, checked on the parsed manifest and the built warehouse, no exemptions:
    a primary-key test on every model, a description on every model and on every column the database holds,
    staging reading only sources and seeds, and only staging reading sources."""
    parsed = run_dbt(built.wh, ["parse"], built.work)
    assert parsed.success
    manifest = _manifest(built.work)
    models = _models(manifest)
    assert any("berka" in n["original_file_path"] for n in models.values())  # the Czech bank's models are checked
    assert _primary_key_gaps(manifest) == []
    assert _layer_breaches(manifest) == []
    undocumented = []
    for uid, node in models.items():
        if not node["description"].strip():
            undocumented.append(uid)
        built_columns = query(
            built.wh,
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (node["schema"], node["alias"]),
        )
        assert built_columns, uid
        described = {name for name, column in node["columns"].items() if column["description"].strip()}
        undocumented += [f"{uid}.{c}" for (c,) in built_columns if c not in described]
    assert undocumented == []
    assert undocumented_source_columns(built.wh, manifest, ("raw_core_banking", "raw_bank_api")) == []


def test_model_rules_catch_a_breach() -> None:
    """The rule checks above fail on a manifest that breaks them (so an empty list means something)."""
    model = {
        "resource_type": "model",
        "package_name": "bank_warehouse",
        "original_file_path": "models/staging/x/stg_x.sql",
        "depends_on": {"nodes": ["model.bank_warehouse.stg_y", "seed.bank_warehouse.codes"]},
    }
    mart = {**model, "original_file_path": "models/marts/m.sql", "depends_on": {"nodes": ["source.bank_warehouse.a.b"]}}
    keyed = {**model, "original_file_path": "models/staging/x/stg_k.sql", "depends_on": {"nodes": []}}
    tests = {
        "test.u": {
            "resource_type": "test",
            "attached_node": "model.k",
            "column_name": "id",
            "test_metadata": {"name": "unique"},
        },
        "test.n": {
            "resource_type": "test",
            "attached_node": "model.k",
            "column_name": "id",
            "test_metadata": {"name": "not_null"},
        },
        "test.half": {
            "resource_type": "test",
            "attached_node": "model.x",
            "column_name": "id",
            "test_metadata": {"name": "unique"},
        },
    }
    manifest = {"nodes": {"model.x": model, "model.m": mart, "model.k": keyed, **tests}}
    assert _primary_key_gaps(manifest) == ["model.x", "model.m"]
    assert _layer_breaches(manifest) == [
        "model.x <- model.bank_warehouse.stg_y",
        "model.m <- source.bank_warehouse.a.b",
    ]


LAYER_ORDER = {"marts": 0, "intermediate": 1, "staging": 2}


def _traces_to_source(manifest: dict, uid: str, through_intermediate: bool = False) -> bool:
    """True when a chain of model parents leads from uid down the layers (marts, intermediate, staging, never
    back up) through at least one intermediate model to a staging model that reads a source."""
    node = manifest["nodes"][uid]
    here = _layer(node)
    for parent in node["depends_on"]["nodes"]:
        if parent.startswith("source."):
            if here == "staging" and through_intermediate:
                return True
            continue
        parent_node = manifest["nodes"].get(parent)
        if parent_node is None or parent_node["resource_type"] != "model":
            continue
        there = _layer(parent_node)
        downward = there in LAYER_ORDER and LAYER_ORDER[there] >= LAYER_ORDER.get(here, 0)
        if downward and _traces_to_source(manifest, parent, through_intermediate or there == "intermediate"):
            return True
    return False


def test_docs_generate_catalogs_every_mart_and_traces_facts_to_sources(built: BuiltWarehouse) -> None:
    docs = run_dbt(built.wh, ["docs", "generate"], built.work)
    assert docs.success
    catalog = json.loads((built.work / "target" / "catalog.json").read_text())
    manifest = _manifest(built.work)
    marts = {uid for uid, n in _models(manifest).items() if _layer(n) == "marts"}
    assert len(marts) >= 10
    assert sorted(marts - set(catalog["nodes"])) == []
    for uid in marts:
        assert catalog["nodes"][uid]["columns"], uid
    facts = sorted(uid for uid in marts if manifest["nodes"][uid]["name"].startswith("fact_"))
    assert len(facts) >= 5
    untraced = [f for f in facts if not _traces_to_source(manifest, f)]
    assert untraced == []
    # the walk fails for a fact that skips the intermediate layer
    shortcut = {
        "nodes": {
            "model.f": {
                "resource_type": "model",
                "original_file_path": "models/marts/f.sql",
                "depends_on": {"nodes": ["model.s"]},
            },
            "model.s": {
                "resource_type": "model",
                "original_file_path": "models/staging/s.sql",
                "depends_on": {"nodes": ["source.a.b"]},
            },
        }
    }
    assert not _traces_to_source(shortcut, "model.f")


def test_both_deliveries_build_with_every_error_gate_green(built: BuiltWarehouse) -> None:
    for run in (built.first, built.second):
        assert run.failed() == []
        assert run.success
    # the second build ran the unit tests, the singular invariants and the contracts' models
    kinds = {uid.split(".")[0] for uid in built.second.statuses}
    assert {"model", "snapshot", "seed", "test", "unit_test"} <= kinds
    assert built.second.statuses[f"test.bank_warehouse.{BALANCE_GATE}"] == "pass"
    # the Czech bank was never loaded: its models built empty instead of failing on the missing raw tables
    assert query(built.wh, "select to_regnamespace('raw_berka')") == [(None,)]
    assert built.second.statuses["model.bank_warehouse.int_berka_transactions_enriched"] == "success"
    berka_rows = "select count(*) from marts.{} where source_system = 'berka'"
    for mart in ("dim_clients", "dim_accounts", "dim_products", "fact_transactions", "fact_loans", "fact_revenue"):
        assert query(built.wh, berka_rows.format(mart)) == [(0,)], mart


def test_balance_gate_fails_until_the_late_transaction_arrives(built: BuiltWarehouse) -> None:
    """After the first delivery the balance of the late row's booking day cannot reconcile; after it, it does."""
    assert built.balance_gate_before_late_row.failed() == [f"test.bank_warehouse.{BALANCE_GATE}"]


def test_rejected_rows_carry_the_planted_defect_counts(built: BuiltWarehouse) -> None:
    rejected = dict(
        query(
            built.wh,
            "select rejection_reason, count(*) from intermediate.int_transactions_rejected group by 1",
        )
    )
    expected = {d: built.bank.expected[f"transactions.{d}"] for d in REJECTING_DEFECTS}
    assert rejected == expected
    union = query(
        built.wh, "select source_system, entity, count(*) from intermediate.int_rejected_rows_unioned group by 1, 2"
    )
    assert union == [("core_banking", "transactions", sum(expected.values()))]
    (removed,) = query(built.wh, "select sum(rows_delivered - 1) from marts.fact_transactions")[0]
    assert removed == built.bank.expected["transactions.duplicate"]
    (client_copies,) = query(
        built.wh,
        "select count(*) - count(distinct (client_id, updated_at)) "
        "from staging.stg_core_banking__clients where is_valid",
    )[0]
    assert client_copies == built.bank.expected["clients.duplicate"]


def test_transactions_match_the_ledger_after_repairs(built: BuiltWarehouse) -> None:
    """Decimal commas, three date spellings and the late arrival all land as the ledger says."""
    rows = query(
        built.wh,
        "select transaction_id, account_id, booked_date, amount, is_late_arrival, "
        "amount_eur is not null from marts.fact_transactions",
    )
    facts = {r[0]: (r[1], r[2], r[3]) for r in rows}
    assert facts == {k: (a, d, Decimal(f"{amt:.2f}")) for k, (a, d, amt) in built.bank.ledger.items()}
    assert sum(1 for r in rows if r[4]) == built.bank.expected["transactions.late_arrival"]
    assert all(r[5] for r in rows)  # every currency had a rate, weekends carried forward


def test_fx_conversion_uses_the_last_rate_on_or_before_the_day(built: BuiltWarehouse) -> None:
    rows = query(
        built.wh,
        "select booked_date, amount, amount_eur, fx_rate_per_eur from marts.fact_transactions where currency = 'CZK'",
    )
    assert rows
    published = {(r["rate_date"], r["currency"]): r["rate_per_eur"] for r in built.bank.fx}
    for booked, amount, amount_eur, rate in rows:
        day = booked
        while (day, "CZK") not in published:
            day = day.fromordinal(day.toordinal() - 1)
        assert float(rate) == pytest.approx(published[(day, "CZK")])
        assert amount_eur == (amount / rate).quantize(Decimal("0.01"))


def test_account_change_between_runs_becomes_a_second_scd2_version(built: BuiltWarehouse) -> None:
    versions = query(
        built.wh,
        "select account_key, credit_limit, valid_from, valid_to, is_current from "
        "marts.dim_accounts where account_id = 'A005' order by valid_from",
    )
    assert [(v[1], v[4]) for v in versions] == [(Decimal("1500.00"), False), (Decimal("3000.00"), True)]
    assert versions[0][3] == versions[1][2]  # no gap, no overlap
    keys = dict(
        query(
            built.wh,
            "select booked_at >= %s, array_agg(distinct account_key) from marts.fact_transactions "
            "where transaction_id in (select transaction_id from intermediate.int_transactions_enriched "
            "where account_id = 'A005') group by 1",
            (versions[1][2],),
        )
    )
    assert keys == {False: [versions[0][0]], True: [versions[1][0]]}


def test_incremental_run_equals_full_refresh(built: BuiltWarehouse) -> None:
    sql = "select * from marts.fact_transactions order by transaction_key"
    incremental = query(built.wh, sql)
    total = len(incremental)
    # the second build re-read only the lookback window, not the whole table
    assert 0 < built.second.rows_affected[FACT] < total
    refreshed = run_dbt(built.wh, ["run", "--full-refresh", "--select", "fact_transactions", *VARS], built.work)
    assert refreshed.success
    assert refreshed.rows_affected[FACT] == total
    assert query(built.wh, sql) == incremental


def test_planted_bad_rows_fail_the_right_gates(built: BuiltWarehouse) -> None:
    gates = [
        BALANCE_GATE,
        "assert_loan_principal_equals_scheduled_principal",
        "assert_every_transaction_line_is_accounted_for",
    ]
    planted_day = _day(7).isoformat()
    with built.wh.cursor() as cur:
        # a balance that does not follow from the movements, and a schedule line that breaks sum = principal
        cur.execute(
            "insert into raw_core_banking.balances (account_id, balance_date, closing_balance, currency, "
            "_file_name, _line_number, _dlt_load_id, _loaded_at) values ('A001', %s, '1.00', 'EUR', %s, 2, "
            "'planted', now())",
            (planted_day, f"balances/{planted_day}.csv"),
        )
        cur.execute(
            "insert into raw_core_banking.loan_schedules (loan_id, installment_no, due_date, principal_due, "
            "interest_due, _file_name, _line_number, _dlt_load_id, _loaded_at) values ('L001', '13', "
            "'2025-10-01', '10.00', '0', %s, 2, 'planted', now())",
            (f"loan_schedules/{planted_day}.csv",),
        )
    try:
        run_dbt(built.wh, ["run", "--select", "int_loan_schedules_deduplicated", *VARS], built.work)
        bad = run_dbt(built.wh, ["test", "--select", *gates], built.work)
        assert bad.failed() == sorted(f"test.bank_warehouse.{g}" for g in gates[:2])
    finally:
        with built.wh.cursor() as cur:
            cur.execute("delete from raw_core_banking.balances where _dlt_load_id = 'planted'")
            cur.execute("delete from raw_core_banking.loan_schedules where _dlt_load_id = 'planted'")
        run_dbt(built.wh, ["run", "--select", "int_loan_schedules_deduplicated", *VARS], built.work)
    good = run_dbt(built.wh, ["test", "--select", *gates], built.work)
    assert good.failed() == [] and good.success


def test_impossible_booking_date_is_rejected_with_file_and_line(built: BuiltWarehouse) -> None:
    """A transaction booked on 31 February has the right shape but names no day: the parse must give NULL, so
    the build of the transactions and everything after them stays green, the row is rejected as invalid_date
    with its file and line, and the fact does not change. Removing the row takes the rejection away again."""
    planted_day = _day(7).isoformat()
    file_name = f"transactions/{planted_day}.csv"
    rebuild = ["build", "--select", "stg_core_banking__transactions+", *VARS]
    fact_sql = "select count(*), sum(amount) from marts.fact_transactions"
    fact_before = query(built.wh, fact_sql)
    rejected_sql = (
        "select entity, business_key, source_file_name, source_line_number, rejection_reason "
        "from intermediate.int_rejected_rows_unioned where source_file_name = %s"
    )
    with built.wh.cursor() as cur:
        cur.execute(
            "insert into raw_core_banking.transactions (transaction_id, account_id, booked_at, value_date, amount, "
            "currency, channel, _file_name, _line_number, _dlt_load_id, _loaded_at) values ('T-PLANTED', 'A001', "
            "'2025-02-31T10:00:00', '2025-02-31', '-5.00', 'EUR', 'atm', %s, 2, 'planted', now())",
            (file_name,),
        )
    try:
        run = run_dbt(built.wh, rebuild, built.work)
        assert run.failed() == [] and run.success
        assert f"test.bank_warehouse.{BALANCE_GATE}" in run.statuses
        assert query(built.wh, rejected_sql, (file_name,)) == [
            ("transactions", "T-PLANTED", file_name, 2, "invalid_date")
        ]
        staged = query(
            built.wh,
            "select booked_at, value_date, is_valid from staging.stg_core_banking__transactions "
            "where transaction_id = 'T-PLANTED'",
        )
        assert staged == [(None, None, False)]
        assert query(built.wh, fact_sql) == fact_before
    finally:
        with built.wh.cursor() as cur:
            cur.execute("delete from raw_core_banking.transactions where _dlt_load_id = 'planted'")
    cleaned = run_dbt(built.wh, rebuild, built.work)
    assert cleaned.failed() == [] and cleaned.success
    assert query(built.wh, rejected_sql, (file_name,)) == []


@pytest.mark.slow
def test_generated_bank_end_to_end(fresh_db: Warehouse, tmp_path: Path) -> None:
    """Generator (scale 0.01) → ingest (files and API) → dbt build: green gates, counts equal the manifest."""
    from bank_sim.api import start_server, stop_server
    from ingest.api_pipeline import run_api_ingest
    from ingest.files_pipeline import run_files_ingest

    raw = tmp_path / "raw"
    subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "generate", "--scale", "0.01", "--days", "30", "--out", str(raw)],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    summary = run_files_ingest(fresh_db, raw, pipelines_dir=tmp_path / "dlt", progress=False, log=lambda _m: None)
    assert summary.errors == []
    server, thread = start_server(tmp_path, token="demo-token")
    try:
        run_api_ingest(fresh_db, server.url, "demo-token", tmp_path / "dlt", log=lambda _m: None)
    finally:
        stop_server(server, thread)

    run = run_dbt(fresh_db, ["build"], tmp_path / "dbt")
    assert run.failed() == [] and run.success

    manifest = json.loads((raw / "manifest.json").read_text())
    expected: dict[tuple[str, str], int] = {}
    for name, info in manifest["files"].items():
        if name.startswith("transactions/"):
            for defect, count in info.get("defects", {}).items():
                if defect in REJECTING_DEFECTS and count:
                    expected[(name, defect)] = count
    rejected = {
        (f, r): n
        for f, r, n in query(
            fresh_db,
            "select source_file_name, rejection_reason, count(*) from "
            "intermediate.int_transactions_rejected group by 1, 2",
        )
    }
    assert rejected == expected
    transactions = manifest["totals"]["entities"]["transactions"]
    count, amount = query(fresh_db, "select count(*), sum(amount) from marts.fact_transactions")[0]
    assert count == transactions["rows_valid"]
    assert amount == Decimal(manifest["totals"]["amount_sums"]["transactions"])
    duplicates = sum(
        info.get("defects", {}).get("duplicate", 0)
        for name, info in manifest["files"].items()
        if name.startswith("transactions/")
    )
    assert query(fresh_db, "select sum(rows_delivered - 1) from marts.fact_transactions")[0][0] == duplicates


def test_bankwh_build_runs_dbt_on_the_resolved_warehouse(fresh_db: Warehouse) -> None:
    """`bankwh build` passes the selection through and builds in the database the PG* variables name."""
    import os

    env = {**os.environ, **fresh_db.env()}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "build",
            "--threads",
            "2",
            "--select",
            "iso_currencies",
            "countries",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"/{fresh_db.database}" in done.stdout
    assert query(fresh_db, "select count(*) from reference.iso_currencies")[0][0] == len(
        (PROJECT_ROOT / "seeds" / "iso_currencies.csv").read_text().strip().splitlines()[1:]
    )
    assert query(fresh_db, "select count(*) from reference.countries where currency_code = 'EUR'")[0][0] > 0
