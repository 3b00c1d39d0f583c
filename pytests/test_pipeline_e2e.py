"""The whole nightly pipeline on the real pieces: generator, bank API, dlt ingest, the dbt project, Delta export.

One tiny bank, one temporary Prefect server and one database for the session. The bank is scale 0.01 over the 40
days from 2024-11-25 (facts over three months), seed 40 and 3 % defects: with these the window holds fraud
labels and quarantined lines, so every raw table has rows (a bank without them builds too: the raw tables no file
delivered are created empty, see pytests/test_ingest_files.py), and the next day (2025-01-04) changes a client.
The nights run in order in one fixture, the way the bank sees them:

1. first night: files + API → dbt build → gate → Delta export;
2. a planted raw balance that breaks the balance invariant: the run fails naming the test, Delta stays as it was;
3. the delivered balance put back and the next day delivered (`bankwh generate --next-day`): the second night runs the
   incremental path (fact_transactions incremental, snapshots record the changed client, only changed months and
   changed marts get a new Delta version).
The tests then read what each night left behind.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from bankwh import cli
from publishing import gate
from warehouse import Warehouse

START = "2024-11-25"
DAYS = 40
SEED = 40
DEFECT_RATE = 0.03
BALANCE_GATE = "assert_balances_reconcile_with_movements"


@dataclass
class Nights:
    wh: Warehouse
    raw: Path
    delta: Path
    first: Any  # Prefect state of the first night
    first_versions: dict[str, int]
    blocked: Any  # state of the run with the planted balance
    blocked_versions: dict[str, int]
    second: Any  # state of the second night (after --next-day)
    second_versions: dict[str, int]
    next_day: str
    marts_before_block: dict[str, tuple]  # row count and checksum of every published mart, before the blocked night
    marts_after_block: dict[str, tuple]


def _marts_fingerprint(wh: Warehouse) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every published mart, as analysts read them."""
    out = {}
    for (name,) in _query(wh, "select table_name from information_schema.tables where table_schema = 'marts'"):
        checksum = "coalesce(sum(hashtext(t::text)::numeric), 0)"
        out[name] = _query(wh, f'select count(*), {checksum} from marts."{name}" t')[0]
    return out


@pytest.fixture(scope="session")
def pipeline_db(server: Warehouse) -> Iterator[Warehouse]:
    """A database of this module's own (the dbt project's tests use the session database)."""
    name = f"bankwh_e2e_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    yield server.with_database(name)
    if not os.environ.get("BANKWH_TEST_KEEP_DB"):
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


def _versions(delta: Path) -> dict[str, int]:
    """Delta version of every mart (`_published_runs`, the record of published nights, aside)."""
    return {
        p.name: DeltaTable(str(p)).version()
        for p in sorted(delta.iterdir())
        if (p / "_delta_log").is_dir() and not p.name.startswith("_")
    }


def _query(wh: Warehouse, sql: str, params: tuple = ()) -> list[tuple]:
    with wh.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _plant_bad_balance(wh: Warehouse) -> tuple[str, str, str]:
    """An account's last closing balance changed in raw so that it no longer follows from its movements.

    Changed in place, not delivered a second time: a second, different balance for the same account and day is a
    conflict that staging rejects (both versions), which the balance invariant would then rightly not see.
    Returns the row's key and its delivered value, to put it back."""
    with wh.cursor() as cur:
        cur.execute(
            "select account_id, balance_date, closing_balance from raw_core_banking.balances b "
            "where (select count(distinct balance_date) from raw_core_banking.balances o "
            "       where o.account_id = b.account_id) > 1 "
            "order by balance_date desc, account_id limit 1"
        )
        account, day, delivered = cur.fetchone()
        cur.execute(
            "update raw_core_banking.balances set closing_balance = '123456789.01' "
            "where account_id = %s and balance_date = %s",
            (account, day),
        )
    return account, day, delivered


def _restore_balance(wh: Warehouse, planted: tuple[str, str, str]) -> None:
    account, day, delivered = planted
    with wh.cursor() as cur:
        cur.execute(
            "update raw_core_banking.balances set closing_balance = %s where account_id = %s and balance_date = %s",
            (delivered, account, day),
        )


@pytest.fixture(scope="session")
def nights(prefect_harness, pipeline_db: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nights]:
    from bank_sim.api.server import start_server, stop_server
    from orchestration.flows import nightly

    work = tmp_path_factory.mktemp("pipeline")
    raw, delta = work / "raw", work / "delta"
    gen = ["generate", "--scale", "0.01", "--days", str(DAYS), "--start", START, "--seed", str(SEED)]
    gen += ["--defect-rate", str(DEFECT_RATE)]
    gen += ["--out", str(raw)]
    assert cli.main(gen) == 0
    saved_env = dict(os.environ)
    api = start_server(work)  # serves work/raw/surveys and work/api/fx_rates.csv, as the generator lays them out
    params = dict(
        sources=["files", "api"],
        data_dir=str(raw),
        api_url=api[0].url,
        delta_root=str(delta),
        database=pipeline_db.database,
        dbt_target_dir=str(work / "target"),
        wait_for_lock=False,
    )
    try:
        first = nightly(**params, return_state=True)
        first_versions = _versions(delta)

        marts_before_block = _marts_fingerprint(pipeline_db)
        planted = _plant_bad_balance(pipeline_db)
        blocked = nightly(**dict(params, sources=[], select=f"+{BALANCE_GATE}"), return_state=True)
        blocked_versions = _versions(delta)
        marts_after_block = _marts_fingerprint(pipeline_db)
        _restore_balance(pipeline_db, planted)

        assert cli.main(["generate", "--next-day", "--out", str(raw)]) == 0
        next_day = json.loads((raw / "manifest.json").read_text())["generator"]["last_day"]
        second = nightly(**params, return_state=True)
        second_versions = _versions(delta)
    finally:
        stop_server(*api)
        os.environ.clear()
        os.environ.update(saved_env)
    yield Nights(pipeline_db, raw, delta, first, first_versions, blocked, blocked_versions, second,
                 second_versions, next_day, marts_before_block, marts_after_block)  # fmt: skip


def test_first_night_publishes_every_mart_with_green_gates(nights: Nights) -> None:
    assert nights.first.is_completed(), nights.first.message
    summary = nights.first.result()
    assert summary["status"] == "published"
    assert summary["dbt"]["failed_tests"] == [] and summary["dbt"]["errored_nodes"] == []
    assert summary["ingest"]["files"]["files_loaded"] == summary["ingest"]["files"]["files"] > 0
    assert summary["ingest"]["api"]["rows"]["fx_rates"] > 0
    marts = {name for (name,) in _query(nights.wh, "select table_name from information_schema.tables "
                                        "where table_schema = 'marts' and table_name not like '\\_%%'")}  # fmt: skip
    exported = {row["mart"] for row in summary["export"]}
    assert exported == marts and set(nights.first_versions) == marts
    assert all(row["parity_ok"] and row["action"] == "created" for row in summary["export"])


def test_failing_gate_blocks_the_export_and_names_the_test(nights: Nights) -> None:
    assert nights.blocked.is_failed()
    with pytest.raises(gate.PublishBlocked, match=BALANCE_GATE):
        nights.blocked.result()
    assert nights.blocked_versions == nights.first_versions
    # readers of PostgreSQL keep the first night too, to the row
    assert nights.marts_after_block == nights.marts_before_block
    assert nights.marts_before_block["fact_transactions"][0] > 0


def test_second_night_is_incremental_and_versions_only_changed_marts(nights: Nights) -> None:
    assert nights.second.is_completed(), nights.second.message
    summary = nights.second.result()
    assert summary["status"] == "published" and summary["dbt"]["failed_tests"] == []
    assert summary["ingest"]["files"]["files_loaded"] == len([p for p in nights.raw.glob(f"*/{nights.next_day}.csv")])
    by_mart = {row["mart"]: row for row in summary["export"]}
    assert all(row["parity_ok"] for row in by_mart.values())
    changed = {m for m, row in by_mart.items() if row["action"] != "unchanged"}
    assert changed and changed != set(by_mart)  # some marts did not change: no new Delta version for them
    for mart, version in nights.second_versions.items():
        if mart in changed:
            assert version > nights.first_versions[mart], mart
        else:
            assert version == nights.first_versions[mart], mart
    # the new day is in January: December's partition of the facts is left alone
    facts = by_mart["fact_transactions"]
    assert facts["action"] == "incremental"
    assert 0 < facts["partitions_rewritten"] < len({m for (m,) in _query(
        nights.wh, "select distinct to_char(booked_date, 'YYYY-MM') from marts.fact_transactions")})  # fmt: skip


def test_fact_transactions_equals_the_ledger_truth(nights: Nights) -> None:
    manifest = json.loads((nights.raw / "manifest.json").read_text())
    truth = manifest["totals"]["entities"]["transactions"]["rows_valid"]
    count, amount = _query(nights.wh, "select count(*), sum(amount) from marts.fact_transactions")[0]
    assert count == truth
    assert amount == Decimal(manifest["totals"]["amount_sums"]["transactions"])
    published = DeltaTable(str(nights.delta / "fact_transactions")).to_pyarrow_table(columns=["amount"])
    assert published.num_rows == truth


def test_changed_client_gets_a_second_scd2_version(nights: Nights) -> None:
    changes = nights.raw / "clients" / f"{nights.next_day}.csv"
    with changes.open(encoding="utf-8") as fh:
        changed = {row["client_id"] for row in csv.DictReader(fh)}
    assert changed, f"{changes} holds no client change"
    rows = _query(
        nights.wh,
        "select client_id, count(*), count(*) filter (where is_current) from marts.dim_clients "
        "where client_id = any(%s) group by 1",
        (sorted(changed),),
    )
    assert {r[0]: (r[1] >= 2, r[2]) for r in rows} == {c: (True, 1) for c in changed}
    versions = DeltaTable(str(nights.delta / "dim_clients")).to_pyarrow_table(columns=["client_id"])
    assert sum(1 for c in versions["client_id"].to_pylist() if c in changed) >= 2 * len(changed)


def test_run_summary_lists_rows_per_mart_and_delta_versions(nights: Nights) -> None:
    from orchestration.summary import format_summary

    summary = nights.second.result()
    text = format_summary(summary)
    assert text.startswith("nightly run: published")
    for row in summary["export"]:
        (rows,) = _query(nights.wh, f'select count(*) from marts."{row["mart"]}"')[0]
        assert row["rows"] == rows
        line = next(line for line in text.splitlines() if line.strip().startswith(row["mart"] + " "))
        assert f"rows {rows:>9}" in line and f"Delta v{nights.second_versions[row['mart']]}" in line
    assert "0 failed test(s)" in text


def test_full_refresh_of_a_selection_publishes_a_whole_night(nights: Nights) -> None:
    """No ingest, dbt --full-refresh of one model: the published night still holds every mart (the candidate
    schema rebuilds them all), and the full refresh rewrites every Delta table whole, recorded in both stores."""
    from orchestration.flows import nightly
    from publishing import publish

    before = _versions(nights.delta)
    state = nightly(
        sources=[],
        full_refresh=True,
        select="fact_transactions",
        delta_root=str(nights.delta),
        database=nights.wh.database,
        dbt_target_dir=str(nights.delta.parent / "target"),
        return_state=True,
    )
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["ingest"] == {} and summary["status"] == "published"
    built = {r for r in summary["dbt"]["statuses"]}
    assert built <= {"success", "pass", "warn", "no-op"}, summary["dbt"]["statuses"]
    exported = {row["mart"]: row for row in summary["export"]}
    assert set(exported) == set(before)
    assert all(row["action"] == "rewritten" and row["parity_ok"] for row in exported.values())
    after = _versions(nights.delta)
    assert all(after[m] == before[m] + 1 for m in before), (before, after)
    with nights.wh.cursor() as cur:
        record = publish.last_published(cur)
    assert record.run_id == str(state.state_details.flow_run_id) and record.delta_versions == after
    assert publish.disagreements(nights.delta, record) == []


def test_berka_source_alone_loads_the_czech_bank(nights: Nights, berka_dir: Path) -> None:
    """`bankwh run --source berka`: only the Berka files are ingested, then the whole warehouse is built green."""
    from orchestration.flows import nightly

    state = nightly(
        sources=["berka"],
        berka_dir=str(berka_dir),
        export=False,
        database=nights.wh.database,
        dbt_target_dir=str(nights.delta.parent / "target"),
        return_state=True,
    )
    assert state.is_completed(), state.message
    summary = state.result()
    assert list(summary["ingest"]) == ["berka"] and summary["status"] == "built"
    from ingest.berka_source import berka_paths, read_delivered

    (trans,) = [p for p in berka_paths(berka_dir) if p.name.startswith("trans.")]
    lines = len(read_delivered(trans).splitlines()) - 1
    (loaded,) = _query(nights.wh, "select count(*) from raw_berka.trans")[0]
    assert loaded == lines and summary["ingest"]["berka"]["rows"] >= lines
    (staged,) = _query(nights.wh, "select count(*) from staging.stg_berka__transaction")[0]
    assert staged == lines
