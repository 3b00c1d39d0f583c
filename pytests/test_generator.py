"""The simulated bank's files: every manifest count is recomputed here with an independent reader.

The reader below does not use the generator's code: it decodes with the manifest's encoding, splits physical
lines, parses each with the csv module and applies the contract's rules (ISO currency list, mod-97, accounts
files, file date) to find each defect again.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import json
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from bank_sim.generator import Settings, generate, next_day
from bank_sim.generator import loans as loans_mod
from bank_sim.generator.settings import Calendar
from bankwh import cli

SETTINGS = Settings(scale=0.01, days=90, seed=7, start="2025-01-01", defect_rate=0.08)
ISO_4217 = {
    "EUR", "USD", "GBP", "CHF", "CZK", "PLN", "JPY", "SEK", "NOK", "DKK", "HUF", "RON", "BGN", "CAD", "AUD",
    "NZD", "CNY", "HKD", "SGD", "INR", "BRL", "MXN", "ZAR", "TRY", "ISK", "KRW", "ILS", "THB", "AED", "SAR",
}  # fmt: skip
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COMMA_AMOUNT = re.compile(r"^-?\d+,\d{2}$")
POINT_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
CONTRACT_DEFECTS = {
    "duplicate", "missing_mandatory", "decimal_comma", "date_format", "invalid_iban", "unknown_account",
    "unknown_currency", "future_date", "extra_column", "latin1", "wrong_field_count", "unclosed_quote",
    "late_arrival",
}  # fmt: skip
AMOUNT_COLUMN = {"transactions": "amount", "postings": "amount", "loan_payments": "amount",
                 "balances": "closing_balance", "loans": "principal", "loan_schedules": "principal_due"}  # fmt: skip


def quiet(*_: object) -> None:
    return None


def mod97_ok(value: str) -> bool:
    rearranged = value[4:] + value[:4]
    remainder = 0
    for ch in rearranged:
        for d in str(ord(ch) - 55) if ch.isalpha() else ch:
            remainder = (remainder * 10 + int(d)) % 97
    return len(value) > 4 and remainder == 1


def cents(text: str) -> int:
    negative = text.startswith("-")
    whole, frac = text.lstrip("-").replace(",", ".").split(".")
    value = int(whole) * 100 + int(frac)
    return -value if negative else value


def read(out: Path, rel: str, encoding: str = "utf-8") -> tuple[list[str], list[str]]:
    text = (out / rel).read_bytes().decode(encoding)
    assert text.endswith("\n") and "\r" not in text
    physical = text.split("\n")[:-1]
    return next(csv.reader([physical[0]])), physical[1:]


def records(out: Path, entity: str) -> list[dict[str, str]]:
    rows = []
    for path in sorted((out / entity).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def sha_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bank") / "raw"
    generate(SETTINGS, out, log=quiet)
    return out


@pytest.fixture(scope="module")
def manifest(bank: Path) -> dict:
    return json.loads((bank / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def account_ids(bank: Path) -> set[str]:
    ids = set()
    for path in sorted((bank / "accounts").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            ids.update(r["account_id"] for r in csv.DictReader(fh))
    return ids


def classify_transactions(header: list[str], lines: list[str], file_date: str,
                          accounts: set[str]) -> tuple[Counter, list[dict[str, str]]]:  # fmt: skip
    """Independent defect count of one transactions file; returns the counts and the ledger rows."""
    found: Counter = Counter()
    seen: set[str] = set()
    valid = []
    for line in lines:
        if line.count('"') % 2:
            found["unclosed_quote"] += 1
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(header):
            found["wrong_field_count"] += 1
            continue
        if line in seen:
            found["duplicate"] += 1
            continue
        seen.add(line)
        row = dict(zip(header, fields, strict=True))
        if any(row[c] == "" for c in ("transaction_id", "account_id", "booked_at", "amount", "currency")):
            found["missing_mandatory"] += 1
        elif row["currency"] not in ISO_4217:
            found["unknown_currency"] += 1
        elif row["account_id"] not in accounts:
            found["unknown_account"] += 1
        elif row["counterparty_iban"] and not mod97_ok(row["counterparty_iban"]):
            found["invalid_iban"] += 1
        elif row["booked_at"][:10] > file_date:
            found["future_date"] += 1
        else:
            found["decimal_comma"] += bool(COMMA_AMOUNT.match(row["amount"]))
            assert COMMA_AMOUNT.match(row["amount"]) or POINT_AMOUNT.match(row["amount"]), line
            found["date_format"] += not ISO_DATE.match(row["value_date"])
            found["late_arrival"] += row["booked_at"][:10] < file_date
            valid.append(row)
    return found, valid


def ledger(bank: Path, manifest: dict, accounts: set[str]) -> list[dict[str, str]]:
    rows = []
    for rel, rec in manifest["files"].items():
        if rec["entity"] == "transactions":
            header, lines = read(bank, rel, rec["encoding"])
            rows += classify_transactions(header, lines, rel.split("/")[1][:10], accounts)[1]
    return rows


def test_every_file_is_in_the_manifest(bank: Path, manifest: dict) -> None:
    on_disk = {str(p.relative_to(bank)) for p in bank.rglob("*.csv")}
    assert on_disk == set(manifest["files"])
    for day in range(SETTINGS.days):
        date = SETTINGS.start_date + dt.timedelta(days=day)
        assert f"transactions/{date}.csv" in on_disk and f"balances/{date}.csv" in on_disk


def test_manifest_counts_recomputed_from_files(bank: Path, manifest: dict, account_ids: set[str]) -> None:
    for rel, rec in manifest["files"].items():
        entity, file_date = rec["entity"], rel.split("/")[1][:10]
        header, lines = read(bank, rel, rec["encoding"])
        assert header == rec["columns"], rel
        assert len(lines) == rec["lines"], rel
        found: Counter = Counter()
        if entity == "transactions":
            found, valid = classify_transactions(header, lines, file_date, account_ids)
            found["extra_column"] = int(header[-1] == "batch_ref")
            found["latin1"] = int(rec["encoding"] == "latin-1")
        else:
            parsed = [next(csv.reader([line])) for line in lines]
            assert all(len(f) == len(header) for f in parsed), rel
            found["duplicate"] = len(lines) - len(set(lines))
            unique = {line: f for line, f in zip(lines, parsed, strict=True)}
            valid = [dict(zip(header, f, strict=True)) for f in unique.values()]
            if entity == "clients":
                found["date_format"] = sum(not ISO_DATE.match(r["birth_date"]) for r in valid)
        assert {k: v for k, v in found.items() if v} == rec["defects"], rel
        assert len(valid) == rec["rows_valid"], rel
        if entity in AMOUNT_COLUMN:
            total = sum(cents(r[AMOUNT_COLUMN[entity]]) for r in valid)
            assert total == cents(rec["amount_sum"]), rel
    totals = Counter()
    for rec in manifest["files"].values():
        totals.update(rec["defects"])
    assert dict(totals) == manifest["totals"]["defects"]


def test_every_contract_defect_occurs(manifest: dict) -> None:
    assert set(manifest["totals"]["defects"]) == CONTRACT_DEFECTS
    latin = [r for r in manifest["files"].values() if r["encoding"] == "latin-1"]
    assert len(latin) == 1 and latin[0]["entity"] == "transactions"


def test_latin1_file_is_not_utf8(bank: Path, manifest: dict) -> None:
    rel = next(k for k, r in manifest["files"].items() if r["encoding"] == "latin-1")
    raw = (bank / rel).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert any(not line.isascii() for line in raw.decode("latin-1").split("\n"))


def test_late_arrivals_within_three_days(bank: Path, manifest: dict, account_ids: set[str]) -> None:
    lags = []
    for rel, rec in manifest["files"].items():
        if rec["entity"] == "transactions":
            header, lines = read(bank, rel, rec["encoding"])
            for row in classify_transactions(header, lines, rel[13:23], account_ids)[1]:
                lag = (dt.date.fromisoformat(rel[13:23]) - dt.date.fromisoformat(row["booked_at"][:10])).days
                lags.append(lag)
    assert lags and max(lags) <= 3 and min(lags) == 0 and any(lag > 0 for lag in lags)


def test_ibans_are_valid(bank: Path, manifest: dict, account_ids: set[str]) -> None:
    accounts = records(bank, "accounts")
    assert accounts and all(mod97_ok(a["iban"]) for a in accounts)
    assert len({a["iban"] for a in accounts}) == len(account_ids)
    counterparties = [r["counterparty_iban"] for r in ledger(bank, manifest, account_ids) if r["counterparty_iban"]]
    assert len(counterparties) > 100 and all(mod97_ok(v) for v in counterparties)


def test_balances_reconcile(bank: Path, manifest: dict, account_ids: set[str]) -> None:
    movement: dict[tuple[str, str], int] = defaultdict(int)
    seen_ids: set[str] = set()
    for row in ledger(bank, manifest, account_ids):
        assert row["transaction_id"] not in seen_ids
        seen_ids.add(row["transaction_id"])
        movement[(row["account_id"], row["booked_at"][:10])] += cents(row["amount"])
    for row in records(bank, "postings"):
        movement[(row["account_id"], row["posting_date"])] += cents(row["amount"])
    balances: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in records(bank, "balances"):
        balances[row["account_id"]].append((row["balance_date"], cents(row["closing_balance"])))
    assert set(movement) == {(a, d) for a, rows in balances.items() for d, _ in rows}
    checked = 0
    for account, rows in balances.items():
        rows.sort()
        for (d1, b1), (d2, b2) in itertools.pairwise(rows):
            assert b1 + movement[(account, d2)] == b2, (account, d1, d2)
            checked += 1
    assert checked > 1000


def test_transaction_patterns(bank: Path, manifest: dict, account_ids: set[str]) -> None:
    rows = ledger(bank, manifest, account_ids)
    per_day = Counter(r["booked_at"][:10] for r in rows)
    weekday = defaultdict(list)
    for day, n in per_day.items():
        weekday[dt.date.fromisoformat(day).weekday()].append(n)
    assert np.mean(weekday[6]) < np.mean(weekday[4])
    salary_days = {r["booked_at"][:10] for r in rows if r["channel"] == "salary"}
    assert salary_days and all(dt.date.fromisoformat(d).weekday() < 5 for d in salary_days)
    cards = [r for r in rows if r["channel"] in ("card_pos", "card_online", "atm")]
    assert cards and all(re.fullmatch(r"\d{4}", r["mcc"]) for r in cards)
    assert all(r["mcc"] == "" for r in rows if r["channel"] not in ("card_pos", "card_online", "atm"))
    assert {r["currency"] for r in rows} > {"EUR"}


def test_fraud_labels_follow_transactions(bank: Path, manifest: dict, account_ids: set[str]) -> None:
    booked = {r["transaction_id"]: r["booked_at"][:10] for r in ledger(bank, manifest, account_ids)}
    labels = records(bank, "fraud_labels")
    assert labels
    for label in labels:
        lag = dt.date.fromisoformat(label["reported_on"]) - dt.date.fromisoformat(booked[label["transaction_id"]])
        assert 1 <= lag.days <= 30
        assert (label["label"] == "fraud") == (label["fraud_type"] != "")


def test_loan_schedules_sum_to_principal(bank: Path) -> None:
    loans = {r["loan_id"]: r for r in records(bank, "loans")}
    by_loan: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in records(bank, "loan_schedules"):
        by_loan[row["loan_id"]].append(row)
    assert loans and set(by_loan) == set(loans)
    for loan_id, rows in by_loan.items():
        assert sum(cents(r["principal_due"]) for r in rows) == cents(loans[loan_id]["principal"])
        assert sorted(int(r["installment_no"]) for r in rows) == list(range(1, int(loans[loan_id]["term_months"]) + 1))
    due = {(r["loan_id"], r["installment_no"]): r for rows in by_loan.values() for r in rows}
    payments = records(bank, "loan_payments")
    assert payments
    for p in payments:
        inst = due[(p["loan_id"], p["installment_no"])]
        assert cents(p["amount"]) == cents(inst["principal_due"]) + cents(inst["interest_due"])
    assert len({p["payment_id"] for p in payments}) == len(payments)


def test_defaults_rise_with_risk_rating() -> None:
    cal = Calendar(dt.date(2025, 1, 1))
    n = 2000
    risk = np.repeat(np.arange(1, 6), n)
    term = np.full(5 * n, 60)
    sched = loans_mod.schedule(cal, np.arange(5 * n), np.full(5 * n, 1_000_000), np.full(5 * n, 700), term,
                               np.zeros(5 * n, np.int64))  # fmt: skip
    plan = loans_mod.plan_payments(np.random.default_rng(1), sched, risk, term)
    defaulted = plan[6] == loans_mod.STATUS["defaulted"]
    shares = [defaulted[risk == r].mean() for r in range(1, 6)]
    assert shares == sorted(shares) and shares[4] > 3 * shares[0]


def test_surveys_and_fx_rates(bank: Path) -> None:
    surveys = records(bank, "surveys")
    assert surveys and all(0 <= int(s["nps_score"]) <= 10 and 1 <= int(s["csat_score"]) <= 5 for s in surveys)
    with (bank.parent / "api" / "fx_rates.csv").open(encoding="utf-8", newline="") as fh:
        rates = list(csv.DictReader(fh))
    base = {"CZK": 25.0, "USD": 1.08, "GBP": 0.84, "CHF": 0.94, "PLN": 4.30}
    assert all(dt.date.fromisoformat(r["rate_date"]).weekday() < 5 for r in rates)
    assert Counter(r["currency"] for r in rates) == {c: len(rates) // 5 for c in base}
    assert all(0.8 < float(r["rate_per_eur"]) / base[r["currency"]] < 1.2 for r in rates)


def test_same_seed_gives_identical_bytes(bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    generate(SETTINGS, out, log=quiet)
    assert sha_tree(out.parent) == sha_tree(bank.parent)
    other = tmp_path / "other" / "raw"
    generate(Settings(scale=0.01, days=90, seed=8, defect_rate=0.08), other, log=quiet)
    assert sha_tree(other / "transactions") != sha_tree(out / "transactions")


def test_row_counts_scale_linearly(tmp_path: Path) -> None:
    counts = {}
    for scale in (0.01, 0.03):
        out = tmp_path / str(scale) / "raw"
        result = generate(Settings(scale=scale, days=20, seed=3), out, log=quiet)
        counts[scale] = result.manifest["totals"]
    small, big = counts[0.01], counts[0.03]
    assert big["clients"] == 3 * small["clients"]
    assert 2.5 < big["accounts"] / small["accounts"] < 3.5
    ratio = big["entities"]["transactions"]["rows_valid"] / small["entities"]["transactions"]["rows_valid"]
    assert 2.4 < ratio < 3.6


def test_next_day_adds_exactly_one_deterministic_day(bank: Path, manifest: dict, tmp_path: Path) -> None:
    copies = []
    for name in ("a", "b"):
        shutil.copytree(bank.parent, tmp_path / name)
        next_day(tmp_path / name / "raw", log=quiet)
        copies.append(tmp_path / name)
    assert sha_tree(copies[0]) == sha_tree(copies[1])
    out = copies[0] / "raw"
    after = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    new_day = str(SETTINGS.start_date + dt.timedelta(days=SETTINGS.days))
    added = set(after["files"]) - set(manifest["files"])
    assert added and {k.split("/")[1][:10] for k in added} == {new_day}
    assert f"transactions/{new_day}.csv" in added and f"balances/{new_day}.csv" in added
    assert after["generator"]["days"] == SETTINGS.days + 1 and after["generator"]["last_day"] == new_day
    before_hashes, after_hashes = sha_tree(bank), sha_tree(out)
    for rel in manifest["files"]:
        assert before_hashes[rel] == after_hashes[rel]
    fx_before = (bank.parent / "api" / "fx_rates.csv").read_text(encoding="utf-8")
    fx_after = (out.parent / "api" / "fx_rates.csv").read_text(encoding="utf-8")
    assert fx_after.startswith(fx_before)
    for row in records(out, "clients"):
        assert row["updated_at"][:10] <= new_day
    test_balances_reconcile(out, after, {r["account_id"] for r in records(out, "accounts")})


def test_cli_generate_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "raw"
    assert cli.main(["generate", "--scale", "0.01", "--days", "3", "--out", str(out), "--seed", "5"]) == 0
    printed = capsys.readouterr().out
    assert "entities:" in printed and "generated" in printed
    assert len(list((out / "transactions").glob("*.csv"))) == 3
    assert cli.main(["generate", "--start", "2025-13-01", "--out", str(out)]) == 1
    assert "--start" in capsys.readouterr().err
    assert cli.main(["generate", "--next-day", "--out", str(tmp_path / "empty")]) == 1
    assert "no manifest" in capsys.readouterr().err
