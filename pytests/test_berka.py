"""The PKDD'99 Czech bank as a second source: the warehouse is checked against the `.asc` files themselves.

The files are parsed here independently of the ingest code (the standard csv module, Decimal arithmetic), then
compared with what raw_berka, staging and the intermediates hold after a real dlt load and a real dbt build.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.berka_pipeline import run_berka_ingest
from ingest.berka_source import FieldSplitError, split_fields
from orchestration import PROJECT_ROOT

FILES = ["account", "client", "disp", "card", "loan", "order", "district", "trans"]
SIGN = {"PRIJEM": 1, "VYDAJ": -1, "VYBER": -1}


def read_asc(berka_dir: Path, stem: str) -> list[dict[str, str]]:
    with open(berka_dir / f"{stem}.asc", newline="", encoding="ascii") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def yymmdd(text: str) -> date:
    return date(1900 + int(text[:2]), int(text[2:4]), int(text[4:6]))


def run_dbt(wh, *args: str) -> None:
    """dbt through its Python runner, with the test database's connection in the environment."""
    from dbt.cli.main import dbtRunner

    project = os.environ.get("BANKWH_DBT_PROJECT_DIR", str(PROJECT_ROOT))
    saved = {key: os.environ.get(key) for key in wh.env()}
    os.environ.update(wh.env())
    try:
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
def built(session_db, berka_dir) -> Iterator[tuple]:
    """Berka loaded and built once for the module: (warehouse, first ingest summary)."""
    summary = run_berka_ingest(session_db, berka_dir, log=lambda *_: None)
    run_dbt(
        session_db,
        "build",
        "--select",
        "berka_codes",
        "path:models/staging/berka",
        "path:models/intermediate/berka",
        "path:tests/berka",
    )
    yield session_db, summary


def test_split_fields_keeps_quoted_empty_apart_from_missing() -> None:
    assert split_fields('1;"";;" ";"a""b"') == ["1", "", None, " ", 'a"b']
    assert split_fields("1;2;") == ["1", "2", None]
    with pytest.raises(FieldSplitError, match="unclosed quote"):
        split_fields('1;"abc')


def test_raw_holds_every_line_of_every_file(built, berka_dir) -> None:
    wh, summary = built
    for stem in FILES:
        lines = (berka_dir / f"{stem}.asc").read_bytes().split(b"\r\n")
        data_lines = len([line for line in lines[1:] if line])
        assert summary["loaded"][f"{stem}.asc"]["lines_in"] == data_lines
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
    assert again["loaded"] == {}
    assert sorted(again["skipped"]) == sorted(f"{stem}.asc" for stem in FILES)
    assert query(wh, "select count(*) from raw_berka.trans") == before
    assert query(wh, "select count(*) from raw_berka._file_loads") == [(len(FILES),)]


def test_entity_counts_match_files(built, berka_dir) -> None:
    wh, _ = built
    models = {
        "account": "intermediate.int_berka__accounts",
        "client": "intermediate.int_berka__clients",
        "disp": "intermediate.int_berka__account_holders",
        "card": "intermediate.int_berka__cards",
        "loan": "intermediate.int_berka__loans",
        "order": "intermediate.int_berka__standing_orders",
        "district": "staging.stg_berka__district",
        "trans": "intermediate.int_berka__transactions",
    }
    for stem, relation in models.items():
        assert query(wh, f"select count(*) from {relation}") == [(len(read_asc(berka_dir, stem)),)], stem
    keys = query(wh, "select count(*) from intermediate.int_berka__transactions where transaction_id like 'berka-%'")
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
        for cid, born, sex in query(wh, "select client_id, birth_date, sex from intermediate.int_berka__clients")
    }
    assert got == expected


def test_loans_per_status(built, berka_dir) -> None:
    wh, _ = built
    expected = Counter(row["status"] for row in read_asc(berka_dir, "loan"))
    got = dict(query(wh, "select source_status_code, count(*) from intermediate.int_berka__loans group by 1"))
    assert got == dict(expected)
    mapping = dict(query(wh, "select distinct source_status_code, status from intermediate.int_berka__loans"))
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
        query(wh, "select posting_type, sum(amount) from intermediate.int_berka__revenue_postings group by 1")
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
            " from intermediate.int_berka__daily_balances",
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
        (tmp_path / f"{stem}.asc").write_bytes((berka_dir / f"{stem}.asc").read_bytes())
    broken = b'99999;1;"AB";"123";10.00\r\n99998;1;"AB;"123";10.00;"SIPO"\r\n99997;1;"AB";"12\xe93";10.00;"SIPO"\r\n'
    with open(tmp_path / "order.asc", "ab") as handle:
        handle.write(broken)
    summary = run_berka_ingest(fresh_db, tmp_path, log=lambda *_: None)
    order = summary["loaded"]["order.asc"]
    good = len(read_asc(berka_dir, "order"))
    assert (order["lines_in"], order["rows_loaded"], order["rows_quarantined"]) == (good + 3, good, 3)
    reasons = query(fresh_db, "select line_number, reason from raw_berka._quarantine order by line_number")
    assert [number for number, _ in reasons] == [good + 2, good + 3, good + 4]
    assert "wrong field count" in reasons[0][1]
    assert "quote" in reasons[1][1]
    assert "undecodable" in reasons[2][1]
