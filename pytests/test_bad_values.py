"""A bad value is a rejected row, never a failed build, and nothing is changed silently.

Landing files with one planted bad value per line go through the real ingest and a real dbt build of the staging
models and the rejected-rows union (`+int_rejected_rows_unioned`). The build must succeed; each planted row must be
in int_rejected_rows_unioned with its file, its line and the precise reason (and the value it refused in the
detail); every other row must be loaded with exactly the value it was delivered with. A file named after no
calendar day is quarantined whole by the ingest; a raw row that still carries such a name is rejected by dbt.
"""

from __future__ import annotations

import ast
import csv
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_helpers import DbtRun, query, run_dbt

from ingest.contract import ENTITIES, TEXT_LIMITS
from ingest.files_pipeline import run_files_ingest
from ingest.summary import IngestSummary
from project_root import PROJECT_ROOT
from warehouse import Warehouse

DAY1, DAY2 = "2025-01-03", "2025-01-04"
TX1, TX2 = f"transactions/{DAY1}.csv", f"transactions/{DAY2}.csv"
IMPOSSIBLE_FILE = "transactions/2025-02-31.csv"
SELECTION = ["--select", "+int_rejected_rows_unioned", "--indirect-selection", "cautious"]

# transaction_id -> (account, amount as delivered, currency, expected reason or None); file 1, lines 2.. in order
PLANTED: list[tuple[str, str, str, str, str | None]] = [
    ("T-GOOD", "A1", "-12.50", "EUR", None),
    ("T-OVERFLOW", "A1", "99999999999999999999.99", "EUR", "amount_overflow"),
    ("T-DECIMALS", "A1", "12.345", "EUR", "excess_decimals"),
    ("T-ROUNDS-TO-ZERO", "A1", "0.001", "EUR", "zero_after_rounding"),
    ("T-IMPLAUSIBLE", "A1", "1230000000000000.00", "EUR", "implausible_amount"),
    ("T-COMMA", "A1", "12,50", "EUR", None),
    ("T-TRAILING-ZERO", "A1", "12.500", "EUR", None),
    ("T-YEN-DECIMALS", "A2", "100.5", "JPY", "excess_decimals"),
    ("T-YEN", "A2", "-1500", "JPY", None),
    ("T-CONFLICT", "A1", "-20.00", "EUR", "conflicting_duplicate"),
    ("T-COPY", "A1", "-30.00", "EUR", None),
    ("T-BAD-DAY", "A1", "-1.00", "EUR", "invalid_date"),
    ("T-LONG-TEXT", "A1", "-1.00", "EUR", "text_too_long"),
]


def transaction(tid: str, account: str, amount: str, currency: str, day: str) -> dict[str, str]:
    booked = "2025-02-31T10:00:00" if tid == "T-BAD-DAY" else f"{day}T10:00:00"
    merchant = "M" * (TEXT_LIMITS["transactions"]["merchant"] + 1) if tid == "T-LONG-TEXT" else "Shop"
    return {
        "transaction_id": tid,
        "account_id": account,
        "booked_at": booked,
        "value_date": day,
        "amount": amount,
        "currency": currency,
        "channel": "card_pos",
        "mcc": "5411",
        "merchant": merchant,
        "counterparty_iban": "",
        "description": "card payment",
    }


def write_csv(data_dir: Path, name: str, rows: list[dict[str, str]]) -> None:
    entity = name.split("/")[0]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(ENTITIES[entity].columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = data_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")


def account(aid: str, currency: str) -> dict[str, str]:
    return {
        "account_id": aid,
        "client_id": "C1",
        "iban": "",
        "product_code": "CA_STD",
        "currency": currency,
        "opened_on": "2020-01-01",
        "closed_on": "",
        "status": "active",
        "credit_limit": "0",
        "overdraft_limit": "500.00",
        "updated_at": "2024-12-01T00:00:00",
    }


def landing_files(data_dir: Path) -> None:
    write_csv(data_dir, f"accounts/{DAY1}.csv", [account("A1", "EUR"), account("A2", "JPY")])
    write_csv(data_dir, TX1, [transaction(t, a, amount, cur, DAY1) for t, a, amount, cur, _ in PLANTED])
    # the next day re-delivers T-CONFLICT with another amount and T-COPY exactly
    write_csv(
        data_dir,
        TX2,
        [transaction("T-CONFLICT", "A1", "-25.00", "EUR", DAY1), transaction("T-COPY", "A1", "-30.00", "EUR", DAY1)],
    )
    write_csv(data_dir, IMPOSSIBLE_FILE, [transaction("T-IMPOSSIBLE-FILE", "A1", "-5.00", "EUR", "2025-02-28")])
    posting = {"account_id": "A1", "posting_date": DAY1, "posting_type": "account_fee", "currency": "EUR"}
    write_csv(
        data_dir,
        f"postings/{DAY1}.csv",
        [
            {**posting, "posting_id": "P-GOOD", "amount": "-5.00", "description": "fee"},
            {**posting, "posting_id": "P-OVERFLOW", "amount": "-99999999999999999999.99", "description": "fee"},
        ],
    )


@dataclass
class BadBank:
    wh: Warehouse
    ingest: IngestSummary
    build: DbtRun
    work: Path


@pytest.fixture(scope="module")
def bad_bank(server: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BadBank]:
    name = f"bankwh_bad_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    wh = server.with_database(name)
    work = tmp_path_factory.mktemp("bad_values")
    landing_files(work / "raw")
    summary = run_files_ingest(wh, work / "raw", pipelines_dir=work / "dlt", progress=False, log=lambda _m: None)
    # a row already in raw whose file name names no day (loaded before the ingest checked names): dbt's own guard
    with wh.cursor() as cur:
        cur.execute(
            "insert into raw_core_banking.transactions (transaction_id, account_id, booked_at, value_date, amount, "
            "currency, _file_name, _line_number, _loaded_at, _dlt_load_id) values ('T-RAW-BAD-NAME', 'A1', "
            "'2025-01-03T10:00:00', '2025-01-03', '-1.00', 'EUR', 'transactions/2025-02-30.csv', 2, now(), 'planted')"
        )
    build = run_dbt(wh, ["build", *SELECTION], work)
    yield BadBank(wh, summary, build, work)
    with server.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')


def rejected(bank: BadBank) -> dict[tuple[str, int], tuple[str, str, str]]:
    rows = query(
        bank.wh,
        "select source_file_name, source_line_number, business_key, rejection_reason, rejection_detail "
        "from intermediate.int_rejected_rows_unioned where source_system = 'core_banking'",
    )
    return {(f, line): (key, reason, detail) for f, line, key, reason, detail in rows}


def test_the_build_succeeds_despite_every_bad_value(bad_bank: BadBank) -> None:
    assert bad_bank.build.failed() == [] and bad_bank.build.success
    assert "model.bank_warehouse.int_rejected_rows_unioned" in bad_bank.build.statuses


def test_each_bad_value_is_rejected_with_file_line_and_precise_reason(bad_bank: BadBank) -> None:
    found = rejected(bad_bank)
    for line, (tid, _account, amount, _cur, reason) in enumerate(PLANTED, start=2):
        if reason is None:
            assert (TX1, line) not in found, tid
            continue
        if reason == "conflicting_duplicate":
            continue  # both versions: test_a_key_delivered_twice_...
        key, got, detail = found[(TX1, line)]
        assert (key, got) == (tid, reason)
        if reason in ("amount_overflow", "excess_decimals", "zero_after_rounding"):
            assert f"amount '{amount}'" in detail, detail
    assert found[(TX1, 13)][2].startswith("invalid_date: booked_at '2025-02-31T10:00:00'")
    assert "merchant has 201 characters, the contract allows 200" in found[(TX1, 14)][2]
    assert "1230000000000000.00" in found[(TX1, 6)][2] and "CA_STD" in found[(TX1, 6)][2]
    posting = found[(f"postings/{DAY1}.csv", 3)]
    assert posting[:2] == ("P-OVERFLOW", "amount_overflow")


def test_a_key_delivered_twice_with_other_content_is_a_conflict_with_both_versions(bad_bank: BadBank) -> None:
    found = rejected(bad_bank)
    conflict_line = 2 + [p[0] for p in PLANTED].index("T-CONFLICT")
    assert found[(TX1, conflict_line)][:2] == ("T-CONFLICT", "conflicting_duplicate")
    assert found[(TX2, 2)][:2] == ("T-CONFLICT", "conflicting_duplicate")
    # an exact copy stays a duplicate: both copies valid, the dedup keeps one
    copies = query(
        bad_bank.wh,
        "select source_file_name, is_valid from staging.stg_core_banking__transactions "
        "where transaction_id = 'T-COPY' order by 1",
    )
    assert copies == [(TX1, True), (TX2, True)]


def test_the_other_rows_are_loaded_exactly_as_delivered(bad_bank: BadBank) -> None:
    valid = dict(
        query(
            bad_bank.wh,
            "select transaction_id, amount from intermediate.int_transactions_validated "
            "where is_valid and source_file_name = %s",
            (TX1,),
        )
    )
    expected = {tid: Decimal(amount.replace(",", ".")) for tid, _a, amount, _c, reason in PLANTED if reason is None}
    assert valid == expected
    # no staged amount differs from its delivered text, valid or not: a value is exact or it is NULL (and rejected)
    changed = query(
        bad_bank.wh,
        "select s.transaction_id, r.amount, s.amount from staging.stg_core_banking__transactions as s "
        "join raw_core_banking.transactions as r on r._file_name = s.source_file_name "
        "and r._line_number = s.source_line_number "
        "where s.amount is not null and s.amount != replace(trim(r.amount), ',', '.')::numeric",
    )
    assert changed == []


def test_a_file_named_after_no_calendar_day_is_quarantined_whole(bad_bank: BadBank) -> None:
    assert any(IMPOSSIBLE_FILE in q and "not a calendar day" in q for q in bad_bank.ingest.quarantined_files)
    lines = query(
        bad_bank.wh,
        "select line_number, reason from raw_core_banking._quarantine where file_name = %s",
        (IMPOSSIBLE_FILE,),
    )
    assert [line for line, _ in lines] == [2]
    assert "2025-02-31 is not a calendar day" in lines[0][1]
    loaded = {f for (f,) in query(bad_bank.wh, "select distinct _file_name from raw_core_banking.transactions")}
    assert {TX1, TX2} <= loaded and IMPOSSIBLE_FILE not in loaded


def test_a_raw_row_whose_file_names_no_day_is_rejected_not_an_error(bad_bank: BadBank) -> None:
    key, reason, detail = rejected(bad_bank)[("transactions/2025-02-30.csv", 2)]
    assert (key, reason) == ("T-RAW-BAD-NAME", "invalid_delivery_date")
    assert "names no calendar day" in detail


def test_implausible_amounts_can_be_flagged_instead_of_rejected(bad_bank: BadBank) -> None:
    flag = run_dbt(
        bad_bank.wh,
        ["run", "--select", "stg_core_banking__transactions", "--vars", '{"implausible_amount_action": "flag"}'],
        bad_bank.work,
    )
    assert flag.success
    try:
        row = query(
            bad_bank.wh,
            "select is_valid, is_implausible_amount, amount from staging.stg_core_banking__transactions "
            "where transaction_id = 'T-IMPLAUSIBLE'",
        )
        assert row == [(True, True, Decimal("1230000000000000.00"))]
        listed = run_dbt(bad_bank.wh, ["test", "--select", "assert_no_implausible_amounts"], bad_bank.work)
        assert listed.warned() == ["test.bank_warehouse.assert_no_implausible_amounts"]
    finally:
        assert run_dbt(bad_bank.wh, ["run", "--select", "stg_core_banking__transactions"], bad_bank.work).success


def test_the_contract_and_dbt_hold_the_same_text_limits() -> None:
    macro = (PROJECT_ROOT / "macros" / "value_checks.sql").read_text()
    found = re.search(r"macro contract_text_limits\(\).*?return\((\{.*?\})\) \}\}", macro, re.S)
    assert found is not None
    assert ast.literal_eval(found.group(1)) == TEXT_LIMITS
