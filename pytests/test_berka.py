"""The PKDD'99 Czech bank as a second source: the warehouse is checked against the `.asc` files themselves.

The files are the gzip copy shipped in data_sets/berka (or the folder BANKWH_BERKA_DIR names, plain or gzip). They
are parsed here independently of the ingest code (gzip, the standard csv module, Decimal arithmetic), then
compared with what raw_berka, staging, the intermediates and the marts hold after a real dlt load and a real dbt
build of the whole project with the Czech bank as its only source. The last test loads both banks into one
database and checks that their keys never meet.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_helpers import DbtRun, undocumented_source_columns
from dbt_helpers import run_dbt as run_dbt_statuses

from ingest.berka_pipeline import default_berka_dir, run_berka_ingest, shipped_berka_dir
from ingest.berka_source import BERKA, berka_paths
from ingest.csv_lines import decode_file, parse_lines
from ingest.dialect import content_sha256, delivered_name
from orchestration import privacy
from project_root import PROJECT_ROOT

FILES = ["account", "client", "disp", "card", "loan", "order", "district", "trans"]
SIGN = {"PRIJEM": 1, "VYDAJ": -1, "VYBER": -1}


@functools.cache
def asc_bytes(berka_dir: Path, stem: str) -> bytes:
    """The bytes of `<stem>.asc` as delivered, from the plain file or its gzip copy, whichever the folder holds."""
    plain = berka_dir / f"{stem}.asc"
    return plain.read_bytes() if plain.is_file() else gzip.decompress((berka_dir / f"{stem}.asc.gz").read_bytes())


def read_asc(berka_dir: Path, stem: str) -> list[dict[str, str]]:
    text = asc_bytes(berka_dir, stem).decode("ascii")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def documented_rows() -> dict[str, int]:
    """Rows per file as the data set's README (shipped beside the files) documents them: `| trans.asc | 46,997 |`."""
    readme = (shipped_berka_dir() / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+\.asc) \| ([\d,]+) \|", readme, flags=re.MULTILINE)
    return {name: int(count.replace(",", "")) for name, count in rows}


def yymmdd(text: str) -> date:
    return date(1900 + int(text[:2]), int(text[2:4]), int(text[4:6]))


def run_dbt(wh, *args: str) -> None:
    """dbt through its Python runner, with the test database's connection in the environment."""
    from dbt.cli.main import dbtRunner

    project = os.environ.get("BANKWH_DBT_PROJECT_DIR", str(PROJECT_ROOT))
    saved = {key: os.environ.get(key) for key in wh.env()}
    os.environ.update(wh.env())
    try:
        with privacy.key_for_dbt():
            result = dbtRunner().invoke([*args, "--project-dir", project, "--profiles-dir", project, "--quiet"])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert result.success, f"dbt {' '.join(args)} failed: {result.exception}"


def query(wh, sql: str, params: tuple = ()) -> list[tuple]:
    with wh.cursor() as cur:
        cur.execute(sql, params or None)
        return cur.fetchall()


@pytest.fixture(scope="module")
def built_run(session_db, berka_dir, tmp_path_factory) -> tuple:
    """Berka loaded and the whole project built once for the module, the Czech bank being the only source:
    (warehouse, first ingest summary, dbt run)."""
    summary = run_berka_ingest(session_db, berka_dir, log=lambda *_: None)
    run = run_dbt_statuses(session_db, ["build"], tmp_path_factory.mktemp("dbt_berka"), threads=2)
    return session_db, summary, run


@pytest.fixture(scope="module")
def built(built_run) -> Iterator[tuple]:
    """(warehouse, first ingest summary)."""
    wh, summary, _ = built_run
    yield wh, summary


def by_file(summary) -> dict:
    """file name → FileResult of an ingest result."""
    return {f.file_name: f for f in summary.files}


def test_quoted_empty_stays_apart_from_missing_and_a_broken_line_never_swallows_the_next() -> None:
    """The Czech dialect through the one reader (pyarrow.csv behind per-line checks): `""` is an empty string,
    `;;` is NULL, a doubled quote is one quote; an unclosed quote is quarantined alone, the next line still reads."""
    data = b'a;b;c;d;e\r\n1;"";;" ";"a""b"\r\n2;"abc;x;y;z\r\n3;4;5;6;\r\n4;5\r\n'
    parsed = parse_lines(decode_file(data, BERKA.encoding), 5, BERKA.delimiter, BERKA.quote_char, False)
    assert parsed.records.to_pylist() == [
        {"c0": "1", "c1": "", "c2": None, "c3": " ", "c4": 'a"b'},
        {"c0": "3", "c1": "4", "c2": "5", "c3": "6", "c4": None},
    ]
    assert parsed.line_numbers == [2, 4]
    assert [(number, reason.split(":")[0]) for number, _, reason in parsed.quarantine] == [
        (3, "unclosed quote"),
        (5, "wrong field count"),
    ]


def test_default_folder_is_the_copy_shipped_with_the_project(berka_dir, monkeypatch, tmp_path) -> None:
    """Without BANKWH_BERKA_DIR the Czech bank is read from data_sets/berka, gzip-compressed, and the nightly
    flow includes it; BANKWH_BERKA_DIR moves it, and a folder without the files leaves the Czech bank out."""
    from orchestration.tasks import default_sources

    shipped = shipped_berka_dir()
    assert shipped.resolve() == (PROJECT_ROOT / "data_sets" / "berka").resolve()
    assert [path.name for path in berka_paths(shipped)] == [f"{stem}.asc.gz" for stem in FILES]
    if not os.environ.get("BANKWH_BERKA_DIR"):
        assert berka_dir == shipped  # the tests of this module read the shipped copy
    monkeypatch.delenv("BANKWH_BERKA_DIR", raising=False)
    assert default_berka_dir() == shipped
    assert default_sources() == ["files", "api", "berka"]
    monkeypatch.setenv("BANKWH_BERKA_DIR", str(tmp_path))
    assert default_berka_dir() == tmp_path
    assert default_sources() == ["files", "api"]


def test_plain_and_gzip_copies_of_a_file_are_one_delivery(fresh_db, berka_dir, tmp_path) -> None:
    """The first 40 lines of each file, gzip-compressed in one folder and plain in another: the gzip folder loads
    under the plain names, the plain one is then recognised as the same delivery (same name, same sha256 of the
    content) and skipped; a plain file beside a different .gz copy is refused."""
    gz_dir, plain_dir = tmp_path / "gz", tmp_path / "plain"
    gz_dir.mkdir()
    plain_dir.mkdir()
    for stem in FILES:
        head = b"\r\n".join(asc_bytes(berka_dir, stem).split(b"\r\n")[:40]) + b"\r\n"
        (plain_dir / f"{stem}.asc").write_bytes(head)
        (gz_dir / f"{stem}.asc.gz").write_bytes(gzip.compress(head, mtime=0))
    gz, plain = gz_dir / "trans.asc.gz", plain_dir / "trans.asc"
    assert delivered_name(gz) == delivered_name(plain) == "trans.asc"
    assert content_sha256(gz) == content_sha256(plain)

    first = run_berka_ingest(fresh_db, gz_dir, log=lambda *_: None)
    assert {f.file_name: f.status for f in first.files} == {f"{stem}.asc": "loaded" for stem in FILES}
    assert by_file(first)["trans.asc"].lines_in == 39
    again = run_berka_ingest(fresh_db, plain_dir, log=lambda *_: None)
    assert {f.file_name: f.status for f in again.files} == {f"{stem}.asc": "unchanged" for stem in FILES}
    assert query(fresh_db, "select count(*), count(distinct file_name) from raw_berka._file_loads") == [(8, 8)]
    assert query(fresh_db, "select count(*), min(_file_name) from raw_berka.trans") == [(39, "trans.asc")]

    # both forms side by side: the same content is read once (plain); different content is refused
    (gz_dir / "loan.asc").write_bytes((plain_dir / "loan.asc").read_bytes())
    assert berka_paths(gz_dir)[FILES.index("loan")].name == "loan.asc"
    (gz_dir / "loan.asc").write_bytes((plain_dir / "loan.asc").read_bytes() + b"1;2;930101;1;1;1;A\r\n")
    with pytest.raises(ValueError, match=r"loan\.asc differ from their \.gz copies"):
        berka_paths(gz_dir)


def test_raw_holds_every_line_of_every_file(built, berka_dir) -> None:
    """Every line of every file is in raw_berka, and the files hold the rows their README documents."""
    wh, summary = built
    files = by_file(summary)
    loaded = {name: f.rows for name, f in files.items()}
    assert loaded == documented_rows()
    assert sum(loaded.values()) == 70_357
    for stem in FILES:
        lines = asc_bytes(berka_dir, stem).split(b"\r\n")
        data_lines = len([line for line in lines[1:] if line])
        assert files[f"{stem}.asc"].lines_in == data_lines
        [(in_raw,)] = query(wh, f'select count(*) from raw_berka."{stem}"')
        assert in_raw == data_lines, stem
    assert query(wh, "select count(*) from raw_berka._quarantine") == [(0,)]
    loads = query(wh, "select lines_in, rows_loaded, rows_quarantined from raw_berka._file_loads")
    assert len(loads) == len(FILES)
    assert all(lines == rows + quarantined for lines, rows, quarantined in loads)


def test_reingest_is_idempotent(built, berka_dir) -> None:
    wh, _ = built
    before = query(wh, "select count(*) from raw_berka.trans")
    again = run_berka_ingest(wh, berka_dir, log=lambda *_: None)
    assert again.loaded == []
    assert {f.file_name: f.status for f in again.files} == {f"{stem}.asc": "unchanged" for stem in FILES}
    assert query(wh, "select count(*) from raw_berka.trans") == before
    assert query(wh, "select count(*) from raw_berka._file_loads") == [(len(FILES),)]


def test_entity_counts_match_files(built, berka_dir) -> None:
    wh, _ = built
    models = {
        "account": "intermediate.int_berka_accounts_joined",
        "client": "intermediate.int_berka_clients_enriched",
        "disp": "intermediate.int_berka_account_holders_conformed",
        "card": "intermediate.int_berka_cards_joined",
        "loan": "intermediate.int_berka_loans_joined",
        "order": "intermediate.int_berka_standing_orders_conformed",
        "district": "staging.stg_berka__district",
        "trans": "intermediate.int_berka_transactions_enriched",
    }
    for stem, relation in models.items():
        assert query(wh, f"select count(*) from {relation}") == [(len(read_asc(berka_dir, stem)),)], stem
    keys = query(
        wh, "select count(*) from intermediate.int_berka_transactions_enriched where transaction_id like 'berka-%'"
    )
    assert keys == [(len(read_asc(berka_dir, "trans")),)]


def test_clients_decoded_from_birth_number(built, berka_dir) -> None:
    wh, _ = built
    expected = {}
    for row in read_asc(berka_dir, "client"):
        number = row["birth_number"]
        month = int(number[2:4])
        sex = "F" if month > 50 else "M"
        born = date(1900 + int(number[:2]), month - 50 if month > 50 else month, int(number[4:6]))
        expected[f"berka-{row['client_id']}"] = (born, sex)
    got = {
        cid: (born, sex)
        for cid, born, sex in query(
            wh, "select client_id, birth_date, sex from intermediate.int_berka_clients_enriched"
        )
    }
    assert got == expected


def test_loans_per_status(built, berka_dir) -> None:
    wh, _ = built
    expected = Counter(row["status"] for row in read_asc(berka_dir, "loan"))
    got = dict(query(wh, "select source_status_code, count(*) from intermediate.int_berka_loans_joined group by 1"))
    assert got == dict(expected)
    mapping = dict(query(wh, "select distinct source_status_code, status from intermediate.int_berka_loans_joined"))
    assert mapping == {"A": "repaid", "B": "defaulted", "C": "active", "D": "defaulted"}


def test_amounts_per_month_and_type(built, berka_dir) -> None:
    wh, _ = built
    expected: dict[tuple, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for row in read_asc(berka_dir, "trans"):
        key = (row["date"][:4], row["type"], row["operation"].strip(), row["k_symbol"].strip())
        count, total = expected[key]
        expected[key] = (count + 1, total + SIGN[row["type"]] * Decimal(row["amount"]))
    got = {
        (month, type_code, operation, k_symbol): (count, total)
        for month, type_code, operation, k_symbol, count, total in query(
            wh,
            """select to_char(booked_on, 'YYMM'), type_code, coalesce(operation_code, ''),
                      coalesce(k_symbol_code, ''), count(*), sum(signed_amount)
               from staging.stg_berka__transaction group by 1, 2, 3, 4""",
        )
    }
    assert got == dict(expected)
    revenue = dict(
        query(wh, "select posting_type, sum(amount) from intermediate.int_berka_revenue_postings_filtered group by 1")
    )
    by_k_symbol = {"SLUZBY": "account_fee", "UROK": "deposit_interest", "SANKC. UROK": "overdraft_interest"}
    expected_revenue: dict[str, Decimal] = defaultdict(Decimal)
    for (_, _, _, k_symbol), (_, total) in expected.items():
        if k_symbol in by_k_symbol:
            expected_revenue[by_k_symbol[k_symbol]] += total
    assert revenue == dict(expected_revenue)


def _daily_closings(rows: list[dict[str, str]]) -> dict[tuple[str, date], tuple[Decimal, str]]:
    """The balance rule, re-implemented: a day's closing movement ends the day's chain (its balance is no other
    movement's opening balance), ties to the highest trans_id; the first day starts from 0."""
    by_account: dict[str, dict[date, list]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        amount = SIGN[row["type"]] * Decimal(row["amount"])
        balance = Decimal(row["balance"])
        by_account[row["account_id"]][yymmdd(row["date"])].append((int(row["trans_id"]), amount, balance))
    result = {}
    for account, days in by_account.items():
        previous = Decimal(0)
        for day in sorted(days):
            moves = days[day]

            def continued(trans_id: int, balance: Decimal, moves=moves) -> bool:
                return any(b - a == balance and t != trans_id for t, a, b in moves)

            ends = [m for m in moves if not continued(m[0], m[2])] or moves
            closing = max(ends, key=lambda m: m[0])[2]
            difference = closing - (previous + sum(m[1] for m in moves))
            check = (
                "consistent"
                if difference == 0
                else "rounding_0_10"
                if abs(difference) == Decimal("0.10")
                else "inconsistent"
            )
            result[(f"berka-{account}", day)] = (closing, check)
            previous = closing
    return result


def test_running_balances_follow_the_movements(built, berka_dir) -> None:
    wh, _ = built
    expected = _daily_closings(read_asc(berka_dir, "trans"))
    got = {
        (account, day): (closing, check)
        for account, day, closing, check in query(
            wh,
            "select account_id, balance_date, closing_balance, balance_check"
            " from intermediate.int_berka_daily_balances_derived",
        )
    }
    assert got == expected
    checks = Counter(check for _, check in got.values())
    # the rule holds for the great majority of account-days; the rest is interest shown 0.10 CZK off
    assert checks["consistent"] > 0.9 * len(got)
    assert checks["inconsistent"] < 0.01 * len(got)


def test_bad_lines_are_quarantined_with_reason(fresh_db, berka_dir, tmp_path) -> None:
    """A copy of the files (in tmp_path) with three broken lines appended to order.asc."""
    for stem in FILES:
        (tmp_path / f"{stem}.asc").write_bytes(asc_bytes(berka_dir, stem))
    broken = b'99999;1;"AB";"123";10.00\r\n99998;1;"AB;"123";10.00;"SIPO"\r\n99997;1;"AB";"12\xe93";10.00;"SIPO"\r\n'
    with open(tmp_path / "order.asc", "ab") as handle:
        handle.write(broken)
    summary = run_berka_ingest(fresh_db, tmp_path, log=lambda *_: None)
    order = by_file(summary)["order.asc"]
    good = len(read_asc(berka_dir, "order"))
    assert (order.lines_in, order.rows, order.quarantined) == (good + 3, good, 3)
    assert query(fresh_db, "select lines_in, rows_loaded, rows_quarantined from raw_berka._file_loads "
                 "where file_name = 'order.asc'") == [(good + 3, good, 3)]  # fmt: skip
    reasons = query(fresh_db, "select line_number, reason from raw_berka._quarantine order by line_number")
    assert [number for number, _ in reasons] == [good + 2, good + 3, good + 4]
    assert "wrong field count" in reasons[0][1]
    assert "quoting" in reasons[1][1]
    assert "undecodable" in reasons[2][1]


def test_unreadable_value_is_rejected_with_file_line_and_rule(fresh_db, berka_dir, tmp_path) -> None:
    """A copy of the files (in tmp_path) where one transaction's date is not a real day: the build stays green,
    the row is rejected as invalid_date with its file and line, and every other movement still arrives."""
    for stem in FILES:
        (tmp_path / f"{stem}.asc").write_bytes(asc_bytes(berka_dir, stem))
    lines = (tmp_path / "trans.asc").read_bytes().split(b"\r\n")
    target = len(lines) // 2  # index in the file = physical line - 1 (header = line 1)
    fields = lines[target].split(b";")
    trans_id = fields[0].decode()
    fields[2] = b"930231"  # 31 February 1993
    lines[target] = b";".join(fields)
    (tmp_path / "trans.asc").write_bytes(b"\r\n".join(lines))
    run_berka_ingest(fresh_db, tmp_path, log=lambda *_: None)

    # what the transactions' descendants also read (seeds, the other entities, the dimensions), built without
    # their tests, which other tests cover; then the transactions and everything after them, tests included
    parents = run_dbt_statuses(
        fresh_db,
        [
            "build",
            "--select",
            "@stg_berka__transaction",
            "--exclude",
            "stg_berka__transaction+",
            "--exclude-resource-type",
            "test",
            "--exclude-resource-type",
            "unit_test",
        ],
        tmp_path / "dbt",
        threads=2,
    )
    assert parents.failed() == [] and parents.success
    run = run_dbt_statuses(fresh_db, ["build", "--select", "stg_berka__transaction+"], tmp_path / "dbt", threads=2)
    assert run.failed() == [] and run.success
    checked = {uid.split(".")[0] for uid in run.statuses}
    assert {"model", "test"} <= checked
    assert "model.bank_warehouse.int_rejected_rows_unioned" in run.statuses
    assert "model.bank_warehouse.fact_transactions" in run.statuses
    rejected = query(
        fresh_db,
        "select source_system, entity, business_key, source_file_name, source_line_number, rejection_reason "
        "from intermediate.int_rejected_rows_unioned",
    )
    assert rejected == [("berka", "transaction", trans_id, "trans.asc", target + 1, "invalid_date")]
    staged = query(
        fresh_db,
        "select booked_on, is_valid from staging.stg_berka__transaction where trans_id = %s",
        (int(trans_id),),
    )
    assert staged == [(None, False)]
    delivered = len(read_asc(berka_dir, "trans"))
    assert query(fresh_db, "select count(*) from marts.fact_transactions where source_system = 'berka'") == [
        (delivered - 1,)
    ]


# --- the star schema -------------------------------------------------------------------------------------------


def berka_codes() -> dict[tuple[str, str], str]:
    """The documented code mapping (seed berka_codes): (code set, code) -> warehouse value."""
    with open(PROJECT_ROOT / "seeds" / "berka_codes.csv", newline="", encoding="utf-8") as handle:
        return {(r["code_set"], r["code"]): r["warehouse_value"] for r in csv.DictReader(handle)}


def transaction_type(row: dict[str, str], codes: dict[tuple[str, str], str]) -> str:
    """k_symbol's meaning when it has one, else the operation's ("" and " " both mean none)."""
    k_symbol = codes.get(("k_symbol", row["k_symbol"].strip() or "(none)"))
    return k_symbol or codes[("operation", row["operation"].strip() or "(none)")]


def test_whole_project_builds_green_with_berka_alone(built_run) -> None:
    wh, _, run = built_run
    assert isinstance(run, DbtRun)
    assert run.failed() == [] and run.success
    # the delivered files are clean: every line reads, nothing is rejected
    assert query(wh, "select count(*) from intermediate.int_berka_rows_rejected") == [(0,)]
    manifest = json.loads((run.work_dir / "target" / "manifest.json").read_text())
    assert undocumented_source_columns(wh, manifest, ("raw_berka",)) == []
    kinds = {uid.split(".")[0] for uid in run.statuses}
    assert {"model", "test", "unit_test", "snapshot"} <= kinds
    # the simulated bank's raw schemas exist, empty: created by the Berka ingest, not by hand
    assert query(wh, "select count(*) from raw_core_banking.transactions") == [(0,)]
    assert query(wh, "select count(*) from marts.fact_transactions where source_system <> 'berka'") == [(0,)]


def test_marts_hold_every_entity_of_the_files(built, berka_dir) -> None:
    wh, _ = built
    trans = read_asc(berka_dir, "trans")
    expected = {
        "dim_clients": len(read_asc(berka_dir, "client")),
        "dim_accounts": len(read_asc(berka_dir, "account")),
        "fact_transactions": len(trans),
        "fact_loans": len(read_asc(berka_dir, "loan")),
        "fact_payments": sum(1 for r in trans if r["k_symbol"].strip() == "UVER"),
        "bridge_account_holders": len(read_asc(berka_dir, "disp")),
        "dim_cards": len(read_asc(berka_dir, "card")),
        "dim_standing_orders": len(read_asc(berka_dir, "order")),
    }
    got = {
        mart: query(wh, f"select count(*) from marts.{mart} where source_system = 'berka'")[0][0] for mart in expected
    }
    assert got == expected
    roles = dict(query(wh, "select holder_role, count(*) from marts.bridge_account_holders group by 1"))
    codes = berka_codes()
    assert roles == dict(Counter(codes[("disposition_type", r["type"])] for r in read_asc(berka_dir, "disp")))
    # natural keys carry the source prefix, surrogate keys are unique, every fact row finds its dimensions
    assert query(
        wh, "select count(*) from marts.dim_clients where source_system = 'berka' and client_id not like 'berka-%'"
    ) == [(0,)]
    for fact in ("fact_transactions", "fact_loans", "fact_revenue", "fact_payments"):
        unknown = query(
            wh,
            f"select count(*) from marts.{fact} where source_system = 'berka' and "
            "(account_key = '-1' or client_key = '-1' or product_key = '-1')",
        )
        assert unknown == [(0,)], fact


def test_fact_loans_per_status_match_loan_file(built, berka_dir) -> None:
    wh, _ = built
    codes = berka_codes()
    expected: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for row in read_asc(berka_dir, "loan"):
        status = codes[("loan_status", row["status"])]
        count, total = expected[status]
        expected[status] = (count + 1, total + Decimal(row["amount"]))
    got = {
        status: (count, total)
        for status, count, total in query(
            wh,
            "select status, count(*), sum(principal) from marts.fact_loans where source_system = 'berka' group by 1",
        )
    }
    assert got == dict(expected)
    flags = query(
        wh,
        "select count(*) filter (where is_non_performing <> (status = 'defaulted')), "
        "count(*) filter (where currency <> 'CZK' or fx_rate_basis <> 'fixed_historical' or principal_eur is null) "
        "from marts.fact_loans where source_system = 'berka'",
    )
    assert flags == [(0, 0)]


def test_fact_transactions_sums_per_month_and_type_match_trans_file(built, berka_dir) -> None:
    wh, _ = built
    codes = berka_codes()
    expected: dict[tuple, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for row in read_asc(berka_dir, "trans"):
        key = ("19" + row["date"][:2] + "-" + row["date"][2:4], transaction_type(row, codes))
        count, total = expected[key]
        expected[key] = (count + 1, total + SIGN[row["type"]] * Decimal(row["amount"]))
    got = {
        (month, kind): (count, total)
        for month, kind, count, total in query(
            wh,
            """select to_char(booked_date, 'YYYY-MM'), transaction_type, count(*), sum(amount)
               from marts.fact_transactions where source_system = 'berka' group by 1, 2""",
        )
    }
    assert got == dict(expected)
    # EUR at the documented fixed rate, row by row
    bad = query(
        wh,
        "select count(*) from marts.fact_transactions where source_system = 'berka' and "
        "(fx_rate_basis <> 'fixed_historical' or amount_eur <> round(amount / fx_rate_per_eur, 2))",
    )
    assert bad == [(0,)]


def test_balance_column_follows_the_movements_per_account(built, berka_dir) -> None:
    """balance_after is the file's balance, and within the extract each account's balance moves with its
    amounts: per account-day, the day's closing equals the previous closing plus the day's movements (the
    daily-balance rule above), checked here on the mart's own columns."""
    wh, _ = built
    rows = read_asc(berka_dir, "trans")
    expected = {f"berka-{r['trans_id']}": Decimal(r["balance"]) for r in rows}
    got = dict(
        query(wh, "select transaction_id, balance_after from marts.fact_transactions where source_system = 'berka'")
    )
    assert got == expected
    closings = _daily_closings(rows)
    from_mart = defaultdict(list)
    for account, trans_id, day, amount, balance in query(
        wh,
        "select account_id, transaction_id, booked_date, amount, balance_after from marts.fact_transactions "
        "where source_system = 'berka'",
    ):
        from_mart[account].append((day, int(trans_id.removeprefix("berka-")), amount, balance))
    consistent = 0
    for (account, day), (closing, check) in closings.items():
        if check != "consistent":
            continue
        moves = [m for m in from_mart[account] if m[0] == day]
        earlier = [m for m in from_mart[account] if m[0] < day]
        previous = closings[(account, max(m[0] for m in earlier))][0] if earlier else Decimal(0)
        assert previous + sum(m[2] for m in moves) == closing, (account, day)
        assert closing in {m[3] for m in moves}
        consistent += 1
    assert consistent > 0.9 * len(closings)


def test_fact_revenue_and_payments_match_the_bank_bookings(built, berka_dir) -> None:
    wh, _ = built
    rows = read_asc(berka_dir, "trans")
    by_k_symbol = {"SLUZBY": "account_fee", "UROK": "deposit_interest", "SANKC. UROK": "overdraft_interest"}
    rate = query(wh, "select rate_per_eur from intermediate.int_berka_fx_rates_fixed")[0][0]
    expected: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for row in rows:
        kind = by_k_symbol.get(row["k_symbol"].strip())
        if kind:
            count, total = expected[kind]
            revenue = -SIGN[row["type"]] * Decimal(row["amount"])  # the bank's side
            expected[kind] = (count + 1, total + (revenue / rate).quantize(Decimal("0.01")))
    got = {
        kind: (count, total)
        for kind, count, total in query(
            wh,
            "select revenue_type, sum(item_count), sum(revenue_eur) from marts.fact_revenue "
            "where source_system = 'berka' group by 1",
        )
    }
    assert got == dict(expected)
    uver = [r for r in rows if r["k_symbol"].strip() == "UVER"]
    payments = query(
        wh,
        "select count(*), sum(amount), count(*) filter (where loan_key = '-1') from marts.fact_payments "
        "where source_system = 'berka'",
    )
    assert payments == [(len(uver), sum(Decimal(r["amount"]) for r in uver), 0)]


def test_both_banks_in_one_warehouse_never_share_a_key(fresh_db, berka_dir, tmp_path) -> None:
    """Berka first (it creates the simulated bank's raw tables empty), then a tiny simulated bank on top."""
    from bank_sim.api import start_server, stop_server
    from ingest.api_pipeline import run_api_ingest
    from ingest.files_pipeline import run_files_ingest

    run_berka_ingest(fresh_db, berka_dir, log=lambda *_: None)
    raw = tmp_path / "raw"
    subprocess.run(
        [sys.executable, "-m", "bankwh.cli", "generate", "--scale", "0.01", "--days", "20", "--out", str(raw)],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    files = run_files_ingest(fresh_db, raw, pipelines_dir=tmp_path / "dlt", progress=False, log=lambda _m: None)
    assert files.errors == []
    server, thread = start_server(tmp_path, token="demo-token")
    try:
        run_api_ingest(fresh_db, server.url, "demo-token", tmp_path / "dlt", log=lambda _m: None)
    finally:
        stop_server(server, thread)
    run = run_dbt_statuses(fresh_db, ["build"], tmp_path / "dbt", threads=2)
    assert run.failed() == [] and run.success

    systems = dict(query(fresh_db, "select source_system, count(*) from marts.fact_transactions group by 1"))
    manifest = json.loads((raw / "manifest.json").read_text())
    assert systems == {
        "berka": len(read_asc(berka_dir, "trans")),
        "core_banking": manifest["totals"]["entities"]["transactions"]["rows_valid"],
    }
    keys = {
        "dim_clients": "client_key",
        "dim_accounts": "account_key",
        "dim_products": "product_key",
        "fact_transactions": "transaction_key",
        "fact_loans": "loan_key",
        "fact_payments": "payment_key",
        "fact_revenue": "revenue_key",
    }
    union = " union all ".join(f"select {key} as k, source_system from marts.{mart}" for mart, key in keys.items())
    shared = query(fresh_db, f"select k from ({union}) as all_keys group by k having count(distinct source_system) > 1")
    assert shared == []
    for mart in keys:
        both = {s for (s,) in query(fresh_db, f"select distinct source_system from marts.{mart}")}
        assert {"berka", "core_banking"} <= both, mart
    # every fact row finds dimension rows of its own source system (or the unknown member)
    for fact in ("fact_transactions", "fact_loans", "fact_payments", "fact_revenue"):
        for dim, key in (
            ("dim_accounts", "account_key"),
            ("dim_clients", "client_key"),
            ("dim_products", "product_key"),
        ):
            orphans = query(
                fresh_db,
                f"select count(*) from marts.{fact} as f left join marts.{dim} as d on f.{key} = d.{key} "
                f"where d.{key} is null or (d.source_system <> f.source_system and d.source_system <> 'unknown')",
            )
            assert orphans == [(0,)], (fact, dim)


def test_ingest_shows_per_file_progress_unless_quiet(fresh_db, berka_dir, tmp_path) -> None:
    """The first 40 lines of each file (in tmp_path): quiet, only the first and last line; by default one
    `[i/n]` line per file read, the load steps and dlt's progress, as the landing-file ingest shows."""
    write_heads(berka_dir, tmp_path, 40)
    quiet: list[str] = []
    run_berka_ingest(fresh_db, tmp_path, log=quiet.append, progress=False)
    mine = [line for line in quiet if not line.startswith("raw layer:")]
    assert len(mine) == 2, quiet
    assert mine[0].startswith("berka: 8 files in") and "8 to load" in mine[0]
    assert mine[1].startswith("berka: loaded 8 files, 312 rows and 0 quarantined lines into raw_berka")

    # a re-delivered district file (one more line): it replaces the first delivery, with progress by default
    with open(tmp_path / "district.asc", "ab") as handle:
        handle.write(asc_bytes(berka_dir, "district").split(b"\r\n")[40] + b"\r\n")
    shown: list[str] = []
    run_berka_ingest(fresh_db, tmp_path, log=shown.append)
    assert shown[0].startswith("berka: 8 files in") and "1 to load, 7 already loaded" in shown[0]
    files = [line for line in shown if line.startswith("  [")]
    assert len(files) == 1
    assert re.fullmatch(r"  \[1/1\] district\.asc: 40 rows, 0 quarantined, ascii \(\d+\.\d\d s\)", files[0])
    assert "loading into PostgreSQL (COPY)" in shown
    assert any(re.match(r"-+ Load bankwh_berka_", line) for line in shown), shown  # dlt's own progress, via log
    assert shown[-1].startswith("berka: loaded 1 files, 40 rows")


# --- one ingest path: the rules shared with the landing files ---------------------------------------------------


def write_heads(berka_dir: Path, folder: Path, lines: int) -> None:
    """The first `lines` lines (header included) of each Czech file, plain, into `folder`."""
    folder.mkdir(exist_ok=True)
    for stem in FILES:
        head = asc_bytes(berka_dir, stem).split(b"\r\n")[:lines]
        (folder / f"{stem}.asc").write_bytes(b"\r\n".join(head) + b"\r\n")


def test_changed_redelivery_replaces_the_file_and_staging_reads_one_load(fresh_db, berka_dir, tmp_path) -> None:
    """district.asc delivered again with one district renamed and one more line: the new content replaces the old
    (rows, ledger row), an unchanged re-delivery is skipped, and staging (no macro picking a load) holds each
    district once, as last delivered."""
    write_heads(berka_dir, tmp_path, 20)
    run_berka_ingest(fresh_db, tmp_path, log=lambda *_: None)
    [(first_sha,)] = query(
        fresh_db, "select content_sha256 from raw_berka._file_loads where file_name = 'district.asc'"
    )
    lines = asc_bytes(berka_dir, "district").split(b"\r\n")[:21]
    lines[1] = lines[1].replace(b'"Hl.m. Praha"', b'"Praha"')
    (tmp_path / "district.asc").write_bytes(b"\r\n".join(lines) + b"\r\n")

    again = run_berka_ingest(fresh_db, tmp_path, log=lambda *_: None)
    statuses = {f.file_name: f.status for f in again.files}
    assert statuses == {**{f"{stem}.asc": "unchanged" for stem in FILES}, "district.asc": "replaced"}
    assert first_sha in by_file(again)["district.asc"].message
    assert query(fresh_db, "select count(*), count(distinct _dlt_load_id) from raw_berka.district") == [(20, 1)]
    assert query(fresh_db, "select a2 from raw_berka.district where a1 = '1'") == [("Praha",)]
    ledger = query(
        fresh_db,
        "select lines_in, rows_loaded, rows_quarantined, replaced_sha256, load_id = ("
        "select min(_dlt_load_id) from raw_berka.district) from raw_berka._file_loads where file_name = 'district.asc'",
    )
    assert ledger == [(20, 20, 0, first_sha, True)]
    assert query(fresh_db, "select count(*) from raw_berka._file_loads") == [(len(FILES),)]

    third = run_berka_ingest(fresh_db, tmp_path, log=lambda *_: None)
    assert {f.status for f in third.files} == {"unchanged"}

    run_dbt(fresh_db, "run", "--select", "stg_berka__district", "stg_berka__file_loads")
    staged = query(fresh_db, "select count(*), count(distinct district_id) from staging.stg_berka__district")
    assert staged == [(20, 20)]
    assert query(fresh_db, "select district_name from staging.stg_berka__district where district_id = 1") == [
        ("Praha",)
    ]
    assert query(fresh_db, "select count(*), bool_and(is_counting_load) from staging.stg_berka__file_loads") == [
        (len(FILES), True)
    ]


def test_a_bad_file_is_quarantined_whole_and_the_others_load(fresh_db, berka_dir, tmp_path) -> None:
    """loan.asc without its loan_id column cannot be loaded: every line of it goes to raw_berka._quarantine with
    the reason, its ledger row proves lines_in = loaded + quarantined, and the seven other files load."""
    write_heads(berka_dir, tmp_path, 11)
    rows = [line.split(b";", 1)[1] for line in asc_bytes(berka_dir, "loan").split(b"\r\n")[:11]]
    (tmp_path / "loan.asc").write_bytes(b"\r\n".join(rows) + b"\r\n")
    summary = run_berka_ingest(fresh_db, tmp_path, log=lambda *_: None)
    loan = by_file(summary)["loan.asc"]
    assert (loan.status, loan.lines_in, loan.rows, loan.quarantined) == ("quarantined", 10, 0, 10)
    assert "mandatory column loan_id missing" in loan.message
    assert summary.quarantined_files == [f"loan.asc: {loan.message}"]
    assert summary.errors == []
    assert {f.status for name, f in by_file(summary).items() if name != "loan.asc"} == {"loaded"}
    assert query(fresh_db, "select count(*) from raw_berka.loan") == [(0,)]
    quarantined = query(fresh_db, "select line_number, reason from raw_berka._quarantine order by line_number")
    assert [number for number, _ in quarantined] == list(range(2, 12))
    assert all(reason.startswith("file quarantined whole: loan.asc: mandatory column") for _, reason in quarantined)
    assert query(
        fresh_db,
        "select lines_in, rows_loaded, rows_quarantined, rejected_reason is not null from raw_berka._file_loads "
        "where file_name = 'loan.asc'",
    ) == [(10, 0, 10, True)]
    assert query(
        fresh_db, "select count(*) from raw_berka._file_loads where lines_in <> rows_loaded + rows_quarantined"
    ) == [(0,)]


def test_a_never_loaded_czech_bank_builds_from_empty_raw_tables(fresh_db, tmp_path) -> None:
    """No Czech file ever loaded: ensure_raw_tables (the flow calls it before dbt) creates raw_berka's tables empty,
    and the Czech staging models, which read their sources directly, build with no rows."""
    from ingest.raw_tables import ensure_raw_tables

    created = ensure_raw_tables(fresh_db, log=lambda *_: None)
    assert {f"raw_berka.{stem}" for stem in FILES} | {"raw_berka._quarantine"} <= set(created)
    run_dbt(fresh_db, "seed", "--select", "berka_codes")
    run_dbt(fresh_db, "run", "--select", "staging.berka")
    for model in ("stg_berka__transaction", "stg_berka__account", "stg_berka__district", "stg_berka__file_loads"):
        assert query(fresh_db, f"select count(*) from staging.{model}") == [(0,)], model
