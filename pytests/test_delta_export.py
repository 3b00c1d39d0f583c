"""Delta export of the marts: types, parity, incremental rewrites, schema changes, vacuum and compaction.

Each test builds a small `marts` schema of its own in a fresh database (a fact partitioned by its booking date
with numeric(18,2) amounts and timestamptz, and a dimension), exports it into tmp_path and reads the Delta tables
and their transaction logs back.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from bankwh import cli
from publishing.delta_export import (
    ExportConfig,
    ExportError,
    compact_small_files,
    export_mart,
    export_marts,
)
from publishing.parity import check_parity
from warehouse.pg_arrow import relation_columns

MARTS_SQL = """
create schema marts;
create table marts.fact_transactions (
    transaction_id bigint primary key,
    account_id text not null,
    booked_date date not null,
    booked_at timestamptz not null,
    amount numeric(18,2) not null,
    fx_rate numeric,
    channel text,
    mcc_count integer,
    is_fraud boolean
);
insert into marts.fact_transactions
select g, 'ACC' || (g % 7), date '2025-01-01' + (g % 90),
       timestamptz '2025-01-01 10:00:00+01' + (g % 90) * interval '1 day' + g * interval '1 second',
       round((g * 37 % 1000)::numeric / 3 - 150, 2), 1 + (g % 11)::numeric / 7,
       case when g % 10 = 0 then null when g % 10 = 1 then '' else 'card_pos' end, g % 4, g % 50 = 0
from generate_series(1, 600) g;
create table marts.dim_clients (client_id bigint primary key, full_name text, birth_date date, segment text);
insert into marts.dim_clients
select g, 'Client ' || g, date '1960-01-01' + g * 97, 'mass' from generate_series(1, 40) g;
"""


@pytest.fixture
def marts_db(fresh_db):
    with fresh_db.cursor() as cur:
        cur.execute(MARTS_SQL)
    return fresh_db


def _config(tmp_path: Path, **kwargs) -> ExportConfig:
    return ExportConfig(root=tmp_path / "delta", **kwargs)


def _log_actions(table_path: Path, version: int) -> list[dict]:
    lines = (table_path / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _touched_months(table_path: Path, version: int) -> tuple[set[str], set[str]]:
    """(months with added files, months with removed files) in one commit of the Delta log."""
    added, removed = set(), set()
    for action in _log_actions(table_path, version):
        if "add" in action:
            added.add(action["add"]["partitionValues"]["month"])
        if "remove" in action:
            removed.add(action["remove"]["partitionValues"]["month"])
    return added, removed


def test_types_survive_the_export(marts_db, tmp_path):
    config = _config(tmp_path)
    results = export_marts(marts_db, config=config, log=lambda _: None)
    assert [r.mart for r in results] == ["dim_clients", "fact_transactions"]

    table = DeltaTable(str(config.root / "fact_transactions")).to_pyarrow_table()
    schema = table.schema
    assert schema.field("transaction_id").type == pa.int64()
    assert schema.field("account_id").type in (pa.string(), pa.large_string(), pa.string_view())
    assert schema.field("booked_date").type == pa.date32()
    assert schema.field("booked_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("amount").type == pa.decimal128(18, 2)
    assert schema.field("fx_rate").type == pa.decimal128(38, 9)
    assert schema.field("mcc_count").type == pa.int32()
    assert schema.field("is_fraud").type == pa.bool_()

    rows = {r["transaction_id"]: r for r in table.to_pylist()}
    assert len(rows) == 600
    with marts_db.cursor() as cur:
        cur.execute("select * from marts.fact_transactions where transaction_id in (10, 11, 12, 50)")
        for tid, account, booked_date, booked_at, amount, fx_rate, channel, mcc, fraud in cur.fetchall():
            got = rows[tid]
            assert got["account_id"] == account
            assert got["booked_date"] == booked_date
            assert got["booked_at"] == booked_at.astimezone(UTC)
            assert got["amount"] == amount
            assert got["fx_rate"] == round(fx_rate, 9)
            assert got["channel"] == channel  # NULL stays null, '' stays ''
            assert got["mcc_count"] == mcc
            assert got["is_fraud"] == fraud
            assert got["month"] == booked_date.strftime("%Y-%m")
    assert rows[10]["channel"] is None and rows[11]["channel"] == ""
    # 10:00+01 is 09:00 UTC: the instant is kept, not the wall clock.
    assert rows[90]["booked_at"] == datetime(2025, 1, 1, 9, 1, 30, tzinfo=UTC)
    assert DeltaTable(str(config.root / "fact_transactions")).partitions() and sorted(
        p["month"] for p in DeltaTable(str(config.root / "fact_transactions")).partitions()
    ) == ["2025-01", "2025-02", "2025-03"]

    dims = DeltaTable(str(config.root / "dim_clients")).to_pyarrow_table()
    assert dims.schema.field("birth_date").type == pa.date32()
    assert dims.num_rows == 40 and "month" not in dims.column_names
    assert min(dims.column("birth_date").to_pylist()) == date(1960, 4, 7)


def test_parity_is_recorded_with_the_delta_version(marts_db, tmp_path):
    config = _config(tmp_path)
    results = export_marts(marts_db, config=config, log=lambda _: None)
    records = [json.loads(line) for line in (config.root / "_parity.jsonl").read_text().splitlines()]
    assert {r["mart"] for r in records} == {"dim_clients", "fact_transactions"}
    fact = next(r for r in records if r["mart"] == "fact_transactions")
    assert fact["ok"] and fact["version"] == next(r.version for r in results if r.mart == "fact_transactions")
    assert fact["rows_postgres"] == fact["rows_delta"] == 600
    with marts_db.cursor() as cur:
        cur.execute("select sum(amount) from marts.fact_transactions")
        assert Decimal(fact["sums"]["amount"]["delta"]) == cur.fetchone()[0]


def test_parity_detects_a_delta_table_that_drifted(marts_db, tmp_path):
    config = _config(tmp_path)
    export_marts(marts_db, config=config, log=lambda _: None)
    path = config.root / "fact_transactions"
    stray = DeltaTable(str(path)).to_pyarrow_table().slice(0, 1)
    write_deltalake(str(path), stray, mode="append")  # a row PostgreSQL does not have

    conn = marts_db.connect()
    try:
        with conn.cursor() as cur:
            columns = relation_columns(cur, "marts", "fact_transactions")
        result = check_parity(conn, "marts", "fact_transactions", columns, path)
    finally:
        conn.close()
    assert not result["ok"]
    assert "rows: postgres 600, delta 601" in result["mismatches"]
    assert any(m.startswith("sum(amount)") for m in result["mismatches"])

    # The next export notices it (fingerprints are unchanged, so only parity can) and names the fix ...
    with pytest.raises(ExportError, match=r"fact_transactions.*rows: postgres 600, delta 601.*--full"):
        export_marts(marts_db, marts=["fact_transactions"], config=config, log=lambda _: None)
    last = json.loads((config.root / "_parity.jsonl").read_text().splitlines()[-1])
    assert last["mart"] == "fact_transactions" and not last["ok"]
    # ... and --full repairs it.
    repaired = export_marts(marts_db, marts=["fact_transactions"], config=config, full=True, log=lambda _: None)
    assert repaired[0].parity_ok and repaired[0].rows == 600


def test_incremental_export_rewrites_only_changed_months(marts_db, tmp_path):
    config = _config(tmp_path)
    first = export_mart(marts_db, "fact_transactions", config)
    assert (first.action, first.partitions_rewritten, first.version) == ("created", 3, 0)

    unchanged = export_mart(marts_db, "fact_transactions", config)
    assert unchanged.action == "unchanged" and unchanged.version == 0  # no new Delta version

    with marts_db.cursor() as cur:
        cur.execute("update marts.fact_transactions set amount = amount + 1 where transaction_id = 40")  # Feb
        cur.execute(
            "insert into marts.fact_transactions values "
            "(10001, 'ACC1', '2025-04-02', '2025-04-02 08:00:00+02', 12.34, null, 'atm', 0, false)"
        )
    second = export_mart(marts_db, "fact_transactions", config)
    assert second.action == "incremental"
    assert second.partitions_rewritten == 2 and second.partitions_total == 4
    added, removed = _touched_months(config.root / "fact_transactions", 1)
    assert added == {"2025-02", "2025-04"}
    assert removed == {"2025-02"}
    assert second.parity_ok and second.rows == 601

    with marts_db.cursor() as cur:
        cur.execute("delete from marts.fact_transactions where booked_date >= '2025-03-01'")
    third = export_mart(marts_db, "fact_transactions", config)
    added, removed = _touched_months(config.root / "fact_transactions", third.version)
    assert added == set() and removed == {"2025-03", "2025-04"}
    table = DeltaTable(str(config.root / "fact_transactions")).to_pyarrow_table()
    assert sorted(set(table.column("month").to_pylist())) == ["2025-01", "2025-02"]
    with marts_db.cursor() as cur:
        cur.execute("select count(*) from marts.fact_transactions")
        assert table.num_rows == cur.fetchone()[0] == third.rows


def test_dimension_is_replaced_only_when_it_changed(marts_db, tmp_path):
    config = _config(tmp_path)
    assert export_mart(marts_db, "dim_clients", config).version == 0
    assert export_mart(marts_db, "dim_clients", config).action == "unchanged"
    with marts_db.cursor() as cur:
        cur.execute("update marts.dim_clients set segment = 'affluent' where client_id = 3")
    result = export_mart(marts_db, "dim_clients", config)
    assert (result.action, result.version) == ("rewritten", 1)
    segments = DeltaTable(str(config.root / "dim_clients")).to_pyarrow_table().column("segment").to_pylist()
    assert segments.count("affluent") == 1 and len(segments) == 40


def test_new_column_is_merged_and_reported(marts_db, tmp_path):
    config = _config(tmp_path)
    export_mart(marts_db, "fact_transactions", config)
    with marts_db.cursor() as cur:
        cur.execute("alter table marts.fact_transactions add column fee numeric(18,2) default 0.25")
    result = export_mart(marts_db, "fact_transactions", config)
    assert result.new_columns == ["fee"] and result.action == "rewritten"
    table = DeltaTable(str(config.root / "fact_transactions")).to_pyarrow_table()
    assert table.schema.field("fee").type == pa.decimal128(18, 2)
    assert set(table.column("fee").to_pylist()) == {Decimal("0.25")}
    assert result.parity_ok


def test_dropped_or_retyped_column_fails_unless_explicitly_allowed(marts_db, tmp_path):
    config = _config(tmp_path)
    export_marts(marts_db, marts=["dim_clients"], config=config, log=lambda _: None)
    with marts_db.cursor() as cur:
        cur.execute("alter table marts.dim_clients drop column segment")
        cur.execute("alter table marts.dim_clients alter column client_id type text")
    with pytest.raises(ExportError) as info:
        export_marts(marts_db, marts=["dim_clients"], config=config, log=lambda _: None)
    message = str(info.value)
    assert "column segment (string) was dropped" in message
    assert "column client_id changed type from int64 to string" in message
    assert "--allow-schema-overwrite" in message
    assert DeltaTable(str(config.root / "dim_clients")).version() == 0  # previous version stays published

    forced = export_mart(marts_db, "dim_clients", _config(tmp_path, allow_schema_overwrite=True))
    table = DeltaTable(str(config.root / "dim_clients")).to_pyarrow_table()
    assert forced.version == 1 and "segment" not in table.column_names
    assert table.schema.field("client_id").type in (pa.string(), pa.large_string(), pa.string_view())


def test_vacuum_removes_files_of_old_versions(marts_db, tmp_path):
    config = _config(tmp_path, retention_hours=0)
    export_mart(marts_db, "fact_transactions", config)
    path = config.root / "fact_transactions"
    with marts_db.cursor() as cur:
        cur.execute("update marts.fact_transactions set amount = 0 where booked_date < '2025-02-01'")
    result = export_mart(marts_db, "fact_transactions", config)
    assert result.vacuumed_files == 1  # the replaced January file
    referenced = {Path(uri).name for uri in DeltaTable(str(path)).file_uris()}
    on_disk = {p.name for p in path.rglob("*.parquet")}
    assert on_disk == referenced

    kept = _config(tmp_path / "kept")  # default retention: a week, nothing young is removed
    export_mart(marts_db, "dim_clients", kept)
    with marts_db.cursor() as cur:
        cur.execute("update marts.dim_clients set segment = 'sme'")
    assert export_mart(marts_db, "dim_clients", kept).vacuumed_files == 0
    assert DeltaTable(str(kept.root / "dim_clients"), version=0).to_pyarrow_table().num_rows == 40


def test_compaction_merges_small_files_of_a_partition(tmp_path):
    path = tmp_path / "t"
    for i in range(5):
        batch = pa.table({"month": ["2025-01", "2025-02"], "v": [i, i]})
        write_deltalake(str(path), batch, mode="append", partition_by=["month"])
    dt = DeltaTable(str(path))
    assert len(dt.file_uris()) == 10
    assert compact_small_files(dt, min_files=6) == []
    assert compact_small_files(dt, min_files=5) == ["2025-01", "2025-02"]
    dt = DeltaTable(str(path))
    assert len(dt.file_uris()) == 2
    assert sorted(dt.to_pyarrow_table().column("v").to_pylist()) == sorted(list(range(5)) * 2)


def test_cli_export_prints_a_summary(marts_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PGDATABASE", marts_db.database)
    root = tmp_path / "delta"
    assert cli.main(["export", "--root", str(root), "--marts", "fact_transactions"]) == 0
    out = capsys.readouterr().out
    assert "fact_transactions" in out and "3/3" in out and "created" in out and " ok" in out
    assert not (root / "dim_clients").exists()
    assert cli.main(["export", "--root", str(root), "--marts", "no_such_mart"]) == 1
    assert "unknown mart(s) no_such_mart" in capsys.readouterr().err


def test_export_state_after_a_restore_is_the_restored_versions(tmp_path):
    """A night rolled back (RESTORE to the published version) must not leave its fingerprints as the baseline of
    the next incremental export: the state is read from the commit the content came from."""
    from deltalake import CommitProperties

    from publishing.delta_export import STATE_KEY, last_export_state

    path = str(tmp_path / "t")

    def write(value: int, mode: str) -> None:
        state = CommitProperties(custom_metadata={STATE_KEY: json.dumps({"night": value})})
        write_deltalake(path, pa.table({"a": [value]}), mode=mode, commit_properties=state)

    write(1, "overwrite")
    write(2, "append")
    assert last_export_state(DeltaTable(path)) == {"night": 2}
    DeltaTable(path).restore(0)
    assert last_export_state(DeltaTable(path)) == {"night": 1}
    write(3, "append")
    assert last_export_state(DeltaTable(path)) == {"night": 3}
