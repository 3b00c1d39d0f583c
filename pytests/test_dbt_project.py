"""The dbt project against a real PostgreSQL: parse, build on a planted-defect bank, gates, incremental parity.

The session fixture loads the fixture bank (pytests/dbt_helpers.py) in two deliveries, the way the nightly
pipeline sees it: days 1-4 first, then days 5-7 (with the late-arriving transaction, a re-delivered account
change and the file with the extra column). Every test reads that warehouse; the last ones plant bad rows and
remove them again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_helpers import (
    BALANCE_GATE,
    REJECTING_DEFECTS,
    VARS,
    BuiltWarehouse,
    _day,
    query,
    run_dbt,
    undocumented_source_columns,
)

from project_root import PROJECT_ROOT
from warehouse import Warehouse

FACT = "model.bank_warehouse.fact_transactions"


def _own(node: dict) -> bool:
    return node.get("package_name") == "bank_warehouse"


def _models(manifest: dict) -> dict[str, dict]:
    return {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model" and _own(n)}


def _layer(node: dict) -> str:
    return node["original_file_path"].split("/")[1] if node["resource_type"] == "model" else node["resource_type"]


# --- the modelling rules: dbt-bouncer (dbt-bouncer.yml) and the few it cannot express -------------------------------
#
# Rules that read only the project's definitions run on the manifest of `dbt parse` (no warehouse, seconds); the
# ones that compare with what the database holds (catalog.json, raw tables) run on the built warehouse.

BOUNCER = Path(sys.executable).with_name("dbt-bouncer")


@dataclass
class Lint:
    returncode: int
    results: list[dict]  # one per check run: check_run_id (check:index:node), unique_id, outcome, failure_message
    output: str

    def failures(self) -> set[tuple[str, str]]:
        """(check name, node name) of every failed check."""
        return {
            (r["check_run_id"].split(":")[0], r["unique_id"].split(".")[-1])
            for r in self.results
            if r["outcome"] != "success"
        }

    def checks(self) -> set[str]:
        return {r["check_run_id"].split(":")[0] for r in self.results}


def run_bouncer(artifacts: Path, work: Path, only: str) -> Lint:
    """dbt-bouncer with the project's dbt-bouncer.yml on the artifacts in `artifacts`: `only` is manifest_checks
    (manifest.json) or catalog_checks (manifest.json and catalog.json)."""
    import yaml

    config = yaml.safe_load((PROJECT_ROOT / "dbt-bouncer.yml").read_text())
    config["dbt_artifacts_dir"] = str(artifacts)
    config_file = work / "dbt-bouncer.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    report = work / "dbt-bouncer.json"
    done = subprocess.run(
        [str(BOUNCER), "run", "--config-file", str(config_file), "--only", only, "--output-file", str(report)],
        cwd=work,
        capture_output=True,
        text=True,
    )
    results = json.loads(report.read_text()) if report.exists() else []
    return Lint(done.returncode, results, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding manifest.json of `dbt parse`: the project's definitions, without a database."""
    from dbt.cli.main import dbtRunner

    work = tmp_path_factory.mktemp("parse")
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--quiet",
        ]
    )
    assert result.success, result.exception
    return work / "target"


def _manifest(artifacts: Path) -> dict:
    return json.loads((artifacts / "manifest.json").read_text())


def test_project_follows_its_conventions_dbt_bouncer(parsed: Path, tmp_path: Path) -> None:
    """Every manifest rule of dbt-bouncer.yml holds on every model, the Czech bank's included."""
    lint = run_bouncer(parsed, tmp_path, "manifest_checks")
    assert lint.failures() == set(), lint.output[-3000:]
    assert lint.returncode == 0, lint.output[-3000:]
    assert {
        "check_model_directories",
        "check_model_names",
        "check_lineage_permitted_upstream_models",
        "check_lineage_source_cannot_be_used",
        "check_model_has_unique_test",
        "check_model_description_populated",
        "check_model_column_description_populated",
        "check_model_has_contracts_enforced",
    } <= lint.checks()
    checked = {r["unique_id"] for r in lint.results}
    assert set(_models(_manifest(parsed))) <= checked
    assert any(".stg_berka__" in uid for uid in checked)


def test_warehouse_holds_only_declared_columns_dbt_bouncer(catalogued: Path, tmp_path: Path) -> None:
    """The catalog rules of dbt-bouncer.yml on the built warehouse: every column a model's table and a raw table
    holds is declared (and so described), and every model was built, so its columns count."""
    lint = run_bouncer(catalogued, tmp_path, "catalog_checks")
    assert lint.failures() == set(), lint.output[-3000:]
    assert lint.returncode == 0, lint.output[-3000:]
    assert {"check_columns_are_all_documented", "check_source_columns_are_all_documented"} <= lint.checks()
    catalog = json.loads((catalogued / "catalog.json").read_text())
    assert sorted(set(_models(_manifest(catalogued))) - set(catalog["nodes"])) == []


def test_dbt_bouncer_catches_a_breach_of_each_manifest_rule(parsed: Path, tmp_path: Path) -> None:
    """The parsed manifest with one breach per rule planted: dbt-bouncer fails exactly on those, nothing else."""
    manifest = _manifest(parsed)
    nodes = manifest["nodes"]
    model = "model.bank_warehouse.{}".format
    nodes[model("fact_loans")]["description"] = ""
    nodes[model("dim_cards")]["name"] = "cards"  # a mart without fact_/dim_/agg_/bridge_
    nodes[model("fact_payments")]["depends_on"]["nodes"].append("source.bank_warehouse.berka.trans")
    nodes[model("stg_berka__loan")]["depends_on"]["nodes"].append(model("int_berka_loans_joined"))
    for node in nodes.values():  # dim_dates loses its key test
        if node["resource_type"] == "test" and node.get("attached_node") == model("dim_dates"):
            node["attached_node"] = None
    nodes[model("fact_revenue")]["contract"]["enforced"] = False
    nodes[model("fact_revenue")]["config"]["contract"]["enforced"] = False
    first_column = next(iter(nodes[model("int_loans_enriched")]["columns"].values()))
    first_column["description"] = " "
    # a conforming model filed by source system again, away from its properties yml
    moved = nodes[model("int_berka_loans_joined")]
    moved["original_file_path"] = moved["original_file_path"].replace("/loans/", "/berka/")
    moved["path"] = moved["path"].replace("loans/", "berka/")
    broken = tmp_path / "artifacts"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps(manifest))

    lint = run_bouncer(broken, tmp_path, "manifest_checks")
    assert lint.returncode == 1, lint.output[-3000:]
    assert lint.failures() == {
        ("check_model_description_populated", "fact_loans"),
        ("check_model_names", "dim_cards"),
        ("check_lineage_source_cannot_be_used", "fact_payments"),
        ("check_lineage_permitted_upstream_models", "stg_berka__loan"),
        ("check_model_has_unique_test", "dim_dates"),
        ("check_model_has_contracts_enforced", "fact_revenue"),
        ("check_model_column_description_populated", "int_loans_enriched"),
        ("check_model_directories", "int_berka_loans_joined"),
        ("check_model_documented_in_same_directory", "int_berka_loans_joined"),
    }


def test_dbt_bouncer_catches_an_undeclared_column(catalogued: Path, tmp_path: Path) -> None:
    """The built warehouse's catalog with a column nobody declared, in a mart and in a raw table: the catalog rules
    fail on exactly those."""
    catalog = json.loads((catalogued / "catalog.json").read_text())
    extra = {"type": "text", "index": 999, "name": "undeclared", "comment": None}
    catalog["nodes"]["model.bank_warehouse.fact_fraud"]["columns"]["undeclared"] = extra
    catalog["sources"]["source.bank_warehouse.core_banking.transactions"]["columns"]["undeclared"] = extra
    broken = tmp_path / "artifacts"
    broken.mkdir()
    shutil.copy(catalogued / "manifest.json", broken / "manifest.json")
    (broken / "catalog.json").write_text(json.dumps(catalog))

    lint = run_bouncer(broken, tmp_path, "catalog_checks")
    assert lint.returncode == 1, lint.output[-3000:]
    assert lint.failures() == {
        ("check_columns_are_all_documented", "fact_fraud"),
        ("check_source_columns_are_all_documented", "transactions"),
    }


PRIMARY_KEY_TESTS = ("expect_compound_columns_to_be_unique", "unique_combination_of_columns")


def _unique_keys_allowing_null(manifest: dict) -> list[str]:
    """Models keyed by single-column unique tests where none of those columns is also tested not_null.

    dbt-bouncer's check_model_has_unique_test asks for a uniqueness test only; a key must also never be NULL
    (unique lets any number of NULLs through), and no dbt-bouncer check ties two tests to one column."""
    tests_by_model: dict[str, set[tuple[str, str | None]]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node") and node.get("test_metadata"):
            kinds = tests_by_model.setdefault(node["attached_node"], set())
            kinds.add((node["test_metadata"]["name"], node.get("column_name")))
    gaps = []
    for uid in _models(manifest):
        names = tests_by_model.get(uid, set())
        unique = {column for kind, column in names if kind == "unique" and column}
        compound = any(kind in PRIMARY_KEY_TESTS for kind, _ in names)
        not_null = any(("not_null", column) in names for column in unique)
        if unique and not compound and not not_null:
            gaps.append(uid)
    return gaps


def _undescribed_seed_and_snapshot_columns(manifest: dict) -> list[str]:
    """dbt-bouncer checks that seed columns are declared, not that they are described, and has no column check
    for snapshots."""
    return [
        f"{node['unique_id']}.{name}"
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("seed", "snapshot") and _own(node)
        for name, column in node["columns"].items()
        if not column["description"].strip()
    ]


#: The one model allowed to read the staging models of several sources: it stacks every source's rejected rows.
REJECTED_ROWS = "model.bank_warehouse.int_rejected_rows_unioned"


def _staging_source(node: dict) -> str | None:
    """The source system folder of a staging model (models/staging/<source>/...), None for any other node."""
    parts = node.get("original_file_path", "").split("/")
    return parts[2] if node.get("resource_type") == "model" and parts[1:2] == ["staging"] else None


def _models_joining_sources(manifest: dict) -> list[str]:
    """Models other than the rejected-rows list whose staging parents come from more than one source system: a
    source is conformed in a model of its own, and only the unions of conformed models meet other sources."""
    joining = []
    for uid, node in _models(manifest).items():
        sources = {_staging_source(manifest["nodes"].get(parent, {})) for parent in node["depends_on"]["nodes"]}
        if len(sources - {None}) > 1 and uid != REJECTED_ROWS:
            joining.append(uid)
    return sorted(joining)


def _marts_reading_one_source(manifest: dict) -> list[str]:
    """Marts that read a source system's own intermediate model (int_<system>_…) rather than the entity's union, so
    a new source would cost an edit of the mart."""
    systems = {_staging_source(n) for n in manifest["nodes"].values()} - {None, "bank_api", "core_banking"}
    prefixes = tuple(f"int_{system}_" for system in systems)
    return sorted(
        f"{node['name']} <- {manifest['nodes'][parent]['name']}"
        for node in _models(manifest).values()
        if _layer(node) == "marts"
        for parent in node["depends_on"]["nodes"]
        if parent in manifest["nodes"] and manifest["nodes"][parent]["name"].startswith(prefixes)
    )


def test_rules_dbt_bouncer_cannot_express(parsed: Path) -> None:
    """What stays hand-written, on the parsed manifest: key columns are not_null, seed and snapshot columns are
    described, no model but the rejected-rows list reads two source systems, the marts read the conformed unions
    (never a source's own model), and the project still holds the marts and semantic layer the warehouse promises."""
    manifest = _manifest(parsed)
    assert _unique_keys_allowing_null(manifest) == []
    assert _undescribed_seed_and_snapshot_columns(manifest) == []
    assert _models_joining_sources(manifest) == []
    assert _marts_reading_one_source(manifest) == []
    marts = {n["name"] for n in _models(manifest).values() if _layer(n) == "marts"}
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
    assert manifest["exposures"] and manifest["metrics"] and manifest["semantic_models"]


def test_raw_tables_are_declared_sources_with_every_column_described(built: BuiltWarehouse, catalogued: Path) -> None:
    """Every raw table of the simulated bank is a declared source and every column the database holds is described
    (dbt-bouncer's catalog check sees declared sources only and checks declaration, not description)."""
    manifest = _manifest(catalogued)
    assert undocumented_source_columns(built.wh, manifest, ("raw_core_banking", "raw_bank_api")) == []


def test_hand_written_rules_catch_a_breach() -> None:
    """The rule checks above fail on a manifest that breaks them (so an empty list means something)."""

    def test(uid: str, kind: str, column: str | None) -> dict:
        return {"resource_type": "test", "attached_node": uid, "column_name": column, "test_metadata": {"name": kind}}

    def model(path: str, *parents: str) -> dict:
        return {
            "resource_type": "model",
            "package_name": "bank_warehouse",
            "columns": {},
            "name": path.rsplit("/", 1)[-1].removesuffix(".sql"),
            "original_file_path": path,
            "depends_on": {"nodes": list(parents)},
        }

    seed = {"resource_type": "seed", "package_name": "bank_warehouse", "unique_id": "seed.s"}
    manifest = {
        "nodes": {
            "model.keyed": model("models/intermediate/a/keyed.sql"),
            "model.half": model("models/intermediate/a/half.sql"),
            "model.other_column": model("models/intermediate/a/other_column.sql"),
            "model.compound": model("models/intermediate/a/compound.sql"),
            "model.stg_a": model("models/staging/core_banking/stg_a.sql"),
            "model.stg_b": model("models/staging/berka/stg_b.sql"),
            "model.stg_c": model("models/staging/bank_api/stg_c.sql"),
            "model.int_berka_b": model("models/intermediate/x/int_berka_b.sql", "model.stg_b"),
            "model.int_ac": model("models/intermediate/x/int_ac.sql", "model.stg_a", "model.stg_c"),
            "model.int_b_unioned": model("models/intermediate/x/int_b_unioned.sql", "model.int_berka_b"),
            REJECTED_ROWS: model(
                "models/intermediate/quality/int_rejected_rows_unioned.sql", "model.stg_a", "model.stg_b"
            ),
            "model.fact_ok": model("models/marts/r/fact_ok.sql", "model.int_b_unioned"),
            "model.fact_one_source": model("models/marts/r/fact_one_source.sql", "model.int_berka_b"),
            "test.1": test("model.keyed", "unique", "id"),
            "test.2": test("model.keyed", "not_null", "id"),
            "test.3": test("model.half", "unique", "id"),
            "test.4": test("model.other_column", "unique", "id"),
            "test.5": test("model.other_column", "not_null", "name"),
            "test.6": test("model.compound", "unique", "id"),
            "test.7": test("model.compound", "expect_compound_columns_to_be_unique", None),
            "seed.s": {**seed, "columns": {"code": {"description": "A code."}, "label": {"description": " "}}},
        }
    }
    assert _unique_keys_allowing_null(manifest) == ["model.half", "model.other_column"]
    assert _undescribed_seed_and_snapshot_columns(manifest) == ["seed.s.label"]
    assert _models_joining_sources(manifest) == ["model.int_ac"]
    assert _marts_reading_one_source(manifest) == ["fact_one_source <- int_berka_b"]


LAYER_ORDER = {"marts": 0, "intermediate": 1, "staging": 2}


def _traces_to_source(manifest: dict, uid: str, through_intermediate: bool = False) -> bool:
    """True when a chain of model parents leads from uid down the layers (marts, intermediate, staging, never
    back up) through at least one intermediate model to a staging model that reads a source.

    dbt-bouncer checks each edge (marts read intermediate and marts, intermediate reads staging and intermediate,
    staging reads no model); that a fact reaches a source at all, rather than only seeds, takes this walk."""
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


def test_facts_trace_down_the_layers_to_sources(parsed: Path) -> None:
    manifest = _manifest(parsed)
    facts = sorted(
        uid for uid, n in _models(manifest).items() if _layer(n) == "marts" and n["name"].startswith("fact_")
    )
    assert facts
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


def test_docs_generate_catalogs_every_mart(catalogued: Path) -> None:
    catalog = json.loads((catalogued / "catalog.json").read_text())
    marts = {uid for uid, n in _models(_manifest(catalogued)).items() if _layer(n) == "marts"}
    assert marts
    assert sorted(marts - set(catalog["nodes"])) == []
    for uid in marts:
        assert catalog["nodes"][uid]["columns"], uid


def test_both_deliveries_build_with_every_error_gate_green(built: BuiltWarehouse) -> None:
    for run in (built.first, built.second):
        assert run.failed() == []
        assert run.success
    # the second build ran the unit tests, the singular invariants and the contracts' models
    kinds = {uid.split(".")[0] for uid in built.second.statuses}
    assert {"model", "snapshot", "seed", "test", "unit_test"} <= kinds
    assert built.second.statuses[f"test.bank_warehouse.{BALANCE_GATE}"] == "pass"
    # the Czech bank was never loaded: its raw tables are empty and its models built empty
    assert query(built.wh, "select count(*) from raw_berka.trans") == [(0,)]
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
        [sys.executable, "-m", "bankwh.cli", "generate", "--scale", "0.01", "--days", "30", "--out", str(raw)],
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

    env = {**os.environ, **fresh_db.env()}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bankwh.cli",
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
