"""A client's erasure, end to end: `bankwh erase --client C001` on a built and published warehouse.

The fixture bank is loaded into a database of its own and one night publishes it (marts in `marts_blue`, every mart
in Delta). The erasure then runs as an operator runs it: the raw overwrite, a full-refresh night, the stale
candidate emptied, every Delta table left with its current version. Afterwards no relation of any schema (raw,
staging, intermediate, snapshots, both candidate schemas, the published views, monitoring) and no file under the
Delta root (every parquet file read directly, old versions included, and every commit and checkpoint of the log)
holds the client's names, national id, e-mail, IBANs, survey comment or birth date, nor the keyed pseudonyms of its
IBANs; every table keeps its row count and every other client's rows and pseudonyms are unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import pyarrow.parquet as pq
import pytest
from dbt_helpers import _day, build_bank, load_raw, query

from orchestration import privacy

CLIENT = "C001"
COMMENT = "Anna here, call me on my mobile"
#: Schemas whose relations keep their row count through an erasure (monitoring gains the night's history).
COUNTED = ("raw_core_banking", "raw_bank_api", "raw_berka", "staging", "intermediate", "snapshots", "marts")


@dataclass
class Published:
    wh: object
    delta: Path
    work: Path


@pytest.fixture
def published(prefect_harness, fresh_db, tmp_path: Path) -> Iterator[Published]:
    """The fixture bank through day 6, the client named in a survey comment, a quarantined line and another
    client's transfer, published by one night into marts_blue and Delta."""
    from ingest.raw_tables import ensure_raw_tables
    from orchestration.flows import nightly

    load_raw(fresh_db, build_bank(), through=_day(6))
    ensure_raw_tables(fresh_db, log=lambda *_: None)
    with fresh_db.cursor() as cur:
        cur.execute("update raw_bank_api.survey_responses set comment = %s where client_id = %s", (COMMENT, CLIENT))
        cur.execute(
            "insert into raw_core_banking._quarantine (file_name, line_number, raw_line, reason, _loaded_at, "
            "_dlt_load_id) values ('clients/x.csv', 9, 'C001,Anna,Schmidt,oops', 'invalid_date', now(), '1')"
        )
        cur.execute(
            "update raw_core_banking.transactions set counterparty_iban = (select min(iban) from "
            "raw_core_banking.accounts where client_id = %s) where transaction_id = (select min(transaction_id) "
            "from raw_core_banking.transactions where account_id not in (select account_id from "
            "raw_core_banking.accounts where client_id = %s))",
            (CLIENT, CLIENT),
        )
    delta = tmp_path / "delta"
    with patch.dict(os.environ, fresh_db.env()):  # the flow sets the marts' schema and libpq variables: restored
        state = nightly(
            sources=[], database=fresh_db.database, delta_root=str(delta), dbt_target_dir=str(tmp_path / "target1"),
            return_state=True,
        )  # fmt: skip
        assert state.is_completed(), state.message
        assert state.result()["status"] == "published"
        yield Published(fresh_db, delta, tmp_path)


def _traces(wh) -> tuple[set[str], set[str]]:
    """The client's values that name it alone (clear, from raw, and the keyed pseudonyms of its IBANs), and its
    birth date."""
    (first, last, national_id, email, birth) = query(
        wh,
        "select first_name, last_name, national_id, email, birth_date from raw_core_banking.clients "
        "where client_id = %s limit 1",
        (CLIENT,),
    )[0]
    ibans = {r[0] for r in query(wh, "select iban from raw_core_banking.accounts where client_id = %s", (CLIENT,))}
    assert len(ibans) == 2 and birth
    key = privacy.resolve_key()
    clear = {first, last, national_id, email, COMMENT, "C001,Anna,Schmidt,oops", *ibans}
    return clear | {privacy.pseudonym(iban, key) for iban in ibans}, {birth}


def _relations(wh) -> list[tuple[str, str]]:
    return query(
        wh,
        "select table_schema, table_name from information_schema.tables where table_schema not in "
        "('pg_catalog', 'information_schema') and table_schema not like 'pg\\_%%' order by 1, 2",
    )


def _found_in_database(wh, values: set[str]) -> dict[str, int]:
    """{schema.relation: rows whose text holds one of the values}, over every table and view of every schema."""
    found = {}
    for schema, table in _relations(wh):
        rows = query(
            wh,
            f'select count(*) from "{schema}"."{table}" as r where exists '
            "(select 1 from unnest(%s::text[]) as v where strpos(r::text, v) > 0)",
            (sorted(values),),
        )[0][0]
        if rows:
            found[f"{schema}.{table}"] = rows
    return found


def _birth_in_client_rows(wh, birth: str) -> list[str]:
    """Relations holding the birth date in a row of the client (a date alone is any day of some other row)."""
    found = []
    for schema, table in query(
        wh,
        "select c.table_schema, c.table_name from information_schema.columns as c join information_schema.tables "
        "as t using (table_schema, table_name) where c.column_name = 'client_id' and c.table_schema not in "
        "('pg_catalog', 'information_schema')",
    ):
        rows = query(
            wh,
            f'select count(*) from "{schema}"."{table}" as r where trim(r.client_id::text) = %s '
            "and strpos(r::text, %s) > 0",
            (CLIENT, birth),
        )[0][0]
        if rows:
            found.append(f"{schema}.{table}")
    return found


def _found_in_delta(root: Path, values: set[str]) -> dict[str, list[str]]:
    """{file: the values it holds}: every parquet file under the root read with pyarrow (whatever version it
    belongs to), and the bytes of every file of every Delta log (commits hold each file's column statistics)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        held: set[str] = set()
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.columns:
                held |= {v for text in map(str, column.to_pylist()) for v in values if v in text}
        if "_delta_log" in path.parts or path.suffix != ".parquet":
            content = path.read_bytes()
            held |= {v for v in values if v.encode("utf-8") in content}
        if held:
            found[str(path.relative_to(root))] = sorted(held)
    return found


def _counts(wh) -> dict[str, int]:
    return {f"{s}.{t}": query(wh, f'select count(*) from "{s}"."{t}"')[0][0] for s, t in _relations(wh) if s in COUNTED}


def _others(wh) -> dict[str, list[tuple]]:
    """Every other client's rows in the published client and account marts, and its pseudonyms."""
    return {
        "dim_clients": query(wh, "select * from marts.dim_clients where client_id <> %s order by 1", (CLIENT,)),
        "dim_accounts": query(
            wh, "select account_id, iban_pseudonym from marts.dim_accounts where client_id <> %s order by 1", (CLIENT,)
        ),
        "counterparties": query(
            wh,
            "select transaction_id, counterparty_iban_pseudonym from marts.fact_transactions "
            "where counterparty_iban_pseudonym is not null order by 1",
        ),
    }


def test_erase_removes_the_client_from_every_layer_and_every_delta_file(published: Published, capsys) -> None:
    from bankwh import cli

    wh = published.wh
    unique, births = _traces(wh)
    (birth,) = births
    before = _found_in_database(wh, unique)
    # the scan sees the client where the night put it: raw, staging, the marts of both slots' kind, and Delta
    assert {"raw_core_banking.clients", "raw_bank_api.survey_responses", "staging.stg_core_banking__clients"} <= set(
        before
    )
    assert "marts_blue.dim_accounts" in before and "marts.dim_accounts" in before
    assert _birth_in_client_rows(wh, birth)
    in_delta = _found_in_delta(published.delta, unique)
    assert any(f.startswith("dim_accounts/") and f.endswith(".parquet") for f in in_delta), in_delta
    counts, others = _counts(wh), _others(wh)
    counterparties_of_client = {r[0] for r in others["counterparties"] if r[1] in unique}
    assert len(counterparties_of_client) == 1  # another client's transfer to the client's IBAN

    argv = ["erase", "--client", CLIENT, "--delta-root", str(published.delta)]
    assert cli.main([*argv, "--dbt-target-dir", str(published.work / "target2")]) == 0
    out = capsys.readouterr().out.splitlines()
    steps = [line for line in out if line.startswith("[")]
    assert [s[:5] for s in steps] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"], out
    assert "1 survey comment(s)" in steps[0] and "1 quarantined line(s)" in steps[0]
    assert "into marts_green" in steps[1] and "marts_blue (" in steps[2]
    assert out[-1].startswith(f"bankwh erase: client {CLIENT} erased from raw, staging, intermediate, snapshots")

    assert _found_in_database(wh, unique) == {}
    assert _birth_in_client_rows(wh, birth) == []
    assert _found_in_delta(published.delta, unique) == {}
    assert _counts(wh) == counts  # no row of any layer went away
    after = _others(wh)
    assert after["dim_clients"] == others["dim_clients"] and after["dim_accounts"] == others["dim_accounts"]
    assert after["counterparties"] == [r for r in others["counterparties"] if r[0] not in counterparties_of_client]
    # Delta still shows the published night, readable at its current version, and keeps no commit before it
    assert cli.main(["status", "--delta-root", str(published.delta)]) == 0
    from deltalake import DeltaTable

    rows = DeltaTable(str(published.delta / "dim_accounts")).to_pyarrow_table().num_rows
    assert rows == counts["marts.dim_accounts"]
    tables = [p for p in published.delta.iterdir() if (p / "_delta_log").is_dir()]
    assert len(tables) > 10
    for table in tables:
        commits = {int(f.name.split(".")[0]) for f in (table / "_delta_log").glob("*.json")}
        assert commits == {DeltaTable(str(table)).version()}, table.name
