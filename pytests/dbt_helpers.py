"""A tiny, hand-checked bank written straight into the raw layer, and a dbt runner for tests.

The raw tables are created exactly as the source contract describes them (every file column text plus
`_file_name`, `_line_number`, `_dlt_load_id`, `_loaded_at`; the API tables typed), so the dbt project can be
tested without the generator or the ingest. Every defect kind of the contract that reaches the raw layer is
planted a known number of times; `RawBank.expected` holds those counts, which the tests compare with the
warehouse's rejected models and dedup counters.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import pytest

from orchestration import privacy
from project_root import PROJECT_ROOT
from warehouse import Warehouse

CONTRACT_COLUMNS: dict[str, list[str]] = {
    "products": [
        "product_code",
        "product_name",
        "product_type",
        "currency",
        "monthly_fee",
        "interest_rate",
        "updated_at",
    ],
    "clients": [
        "client_id",
        "first_name",
        "last_name",
        "birth_date",
        "national_id",
        "email",
        "phone",
        "street",
        "city",
        "postal_code",
        "country",
        "segment",
        "risk_rating",
        "kyc_status",
        "onboarded_on",
        "updated_at",
    ],
    "accounts": [
        "account_id",
        "client_id",
        "iban",
        "product_code",
        "currency",
        "opened_on",
        "closed_on",
        "status",
        "credit_limit",
        "overdraft_limit",
        "updated_at",
    ],
    "loans": [
        "loan_id",
        "client_id",
        "account_id",
        "product_code",
        "principal",
        "currency",
        "annual_rate",
        "term_months",
        "start_date",
        "status",
        "updated_at",
    ],
    "loan_schedules": ["loan_id", "installment_no", "due_date", "principal_due", "interest_due"],
    "loan_payments": ["payment_id", "loan_id", "installment_no", "paid_on", "amount", "currency"],
    "transactions": [
        "transaction_id",
        "account_id",
        "booked_at",
        "value_date",
        "amount",
        "currency",
        "channel",
        "mcc",
        "merchant",
        "counterparty_iban",
        "description",
    ],
    "balances": ["account_id", "balance_date", "closing_balance", "currency"],
    "postings": ["posting_id", "account_id", "posting_date", "posting_type", "amount", "currency", "description"],
    "fraud_labels": ["transaction_id", "label", "fraud_type", "reported_on"],
}

START = date(2025, 1, 2)  # Thursday after the TARGET2 New Year holiday; the week spans a weekend
DAYS = 7
REJECTING_DEFECTS = ("missing_mandatory", "invalid_iban", "unknown_account", "unknown_currency", "future_date")


def iban(country: str, bban: str) -> str:
    """A valid ISO 13616 IBAN for the country and basic bank account number."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def broken_iban(country: str, bban: str) -> str:
    good = iban(country, bban)
    wrong = (int(good[2:4]) + 1) % 100
    return f"{good[:2]}{wrong:02d}{good[4:]}"


@dataclass
class RawBank:
    """Rows per raw table with their delivery date, and the defect counts planted among them."""

    rows: dict[str, list[tuple[date, dict[str, str]]]] = field(default_factory=dict)
    surveys: list[dict] = field(default_factory=list)
    fx: list[dict] = field(default_factory=list)
    expected: Counter = field(default_factory=Counter)
    ledger: dict[str, tuple[str, date, Decimal]] = field(default_factory=dict)  # transaction_id -> truth
    ibans: dict[str, str] = field(default_factory=dict)

    def add(self, entity: str, delivered: date, **values: object) -> dict[str, str]:
        row = {k: "" if v is None else str(v) for k, v in values.items()}
        self.rows.setdefault(entity, []).append((delivered, row))
        return row


def _day(n: int) -> date:
    return START + timedelta(days=n)


def _ts(d: date, hh: int, mm: int = 0) -> str:
    return f"{d.isoformat()}T{hh:02d}:{mm:02d}:00"


def build_bank() -> RawBank:
    """The fixture bank: 6 clients, 7 accounts, 2 loans, a week of transactions with every defect kind."""
    bank = RawBank()
    d1 = _day(0)
    products = [
        ("CA-EUR", "Current account", "current_account", "EUR", "5.00", "0"),
        ("CA-CZK", "Běžný účet", "current_account", "CZK", "99.00", "0"),
        ("CA-USD", "Dollar account", "current_account", "USD", "6.00", "0"),
        ("SAV-EUR", "Savings account", "savings", "EUR", "0", "0.0150"),
        ("CC-EUR", "Credit card", "credit_card", "EUR", "2.50", "0.1890"),
        ("PL-EUR", "Personal loan", "personal_loan", "EUR", "0", "0.0690"),
    ]
    for code, name, ptype, cur, fee, rate in products:
        bank.add(
            "products",
            d1,
            product_code=code,
            product_name=name,
            product_type=ptype,
            currency=cur,
            monthly_fee=fee,
            interest_rate=rate,
            updated_at="2024-06-01T00:00:00",
        )

    clients = [
        ("C001", "Anna", "Schmidt", "1980-04-12", "DE", "mass", 2),
        ("C002", "Louis", "Martin", "1975-11-30", "FR", "affluent", 1),
        ("C003", "Jana", "Nováková", "12.03.1990", "CZ", "mass", 3),  # date_format
        ("C004", "John", "Smith", "1968-07-01", "US", "mass", 4),
        ("C005", "Eva", "de Vries", "1995-01-20", "NL", "private", 2),
        ("C006", "Paul", "Wagner", "1959-09-09", "AT", "sme", 5),
    ]
    for cid, first, last, birth, country, segment, risk in clients:
        row = bank.add(
            "clients",
            d1,
            client_id=cid,
            first_name=first,
            last_name=last,
            birth_date=birth,
            national_id=f"ID-{cid}",
            email=f"{first.lower()}@example.org",
            phone="+49 30 1234567",
            street="Hauptstrasse 1",
            city="Berlin",
            postal_code="10115",
            country=country,
            segment=segment,
            risk_rating=risk,
            kyc_status="verified",
            onboarded_on="2019/05/02" if cid == "C005" else "2019-05-02",  # date_format
            updated_at="2024-06-01T09:00:00",
        )
        if cid == "C002":
            bank.rows["clients"].append((d1, dict(row)))  # duplicate
            bank.expected["clients.duplicate"] += 1
    bank.expected["clients.date_format"] += 2
    # C004 moves to the affluent segment on day 4: a second version for the type-2 dimension.
    changed = dict(next(r for _, r in bank.rows["clients"] if r["client_id"] == "C004"))
    changed.update(segment="affluent", updated_at=_ts(_day(3), 11))
    bank.rows["clients"].append((_day(3), changed))

    accounts = [
        ("A001", "C001", "DE", "370400440532013000", "CA-EUR", "EUR"),
        ("A002", "C002", "FR", "20041010050500013M02606", "CA-EUR", "EUR"),
        ("A003", "C003", "CZ", "08000000192000145399", "CA-CZK", "CZK"),
        ("A004", "C004", "GB", "NWBK60161331926819", "CA-USD", "USD"),
        ("A005", "C005", "NL", "ABNA0417164300", "CC-EUR", "EUR"),
        ("A006", "C006", "AT", "1904300234573201", "SAV-EUR", "EUR"),
        ("A007", "C001", "DE", "370400440532013001", "PL-EUR", "EUR"),
    ]
    for aid, cid, country, bban, product, cur in accounts:
        bank.ibans[aid] = iban(country, bban)
        row = bank.add(
            "accounts",
            d1,
            account_id=aid,
            client_id=cid,
            iban=bank.ibans[aid],
            product_code=product,
            currency=cur,
            opened_on="2020-01-15",
            closed_on=None,
            status="active",
            credit_limit="1500.00" if product == "CC-EUR" else "0",
            overdraft_limit="500.00" if product.startswith("CA") else "0",
            updated_at="2024-06-01T09:00:00",
        )
        if aid == "A003":
            bank.rows["accounts"].append((_day(1), dict(row)))  # duplicate, re-delivered next day
            bank.expected["accounts.duplicate"] += 1
    changed = dict(next(r for _, r in bank.rows["accounts"] if r["account_id"] == "A005"))
    changed.update(credit_limit="3000.00", updated_at=_ts(_day(4), 8))
    bank.rows["accounts"].append((_day(4), changed))

    _add_loans(bank)
    _add_ledger(bank)
    _add_api(bank)
    return bank


def _annuity(principal: Decimal, annual_rate: Decimal, months: int) -> list[tuple[Decimal, Decimal]]:
    """(principal_due, interest_due) per installment; rounding goes to the last installment."""
    r = annual_rate / 12
    payment = (principal * r / (1 - (1 + r) ** -months)).quantize(Decimal("0.01"))
    rest, plan = principal, []
    for n in range(1, months + 1):
        interest = (rest * r).quantize(Decimal("0.01"))
        part = rest if n == months else payment - interest
        plan.append((part, interest))
        rest -= part
    return plan


def _add_loans(bank: RawBank) -> None:
    d1 = _day(0)
    loans = [
        ("L001", "C001", "A007", Decimal("12000.00"), Decimal("0.0690"), 12, date(2024, 10, 1), [1, 2, 3]),
        ("L002", "C002", "A002", Decimal("6000.00"), Decimal("0.0690"), 6, date(2024, 9, 15), [1, 2]),
    ]
    for lid, cid, aid, principal, rate, months, start, paid in loans:
        bank.add(
            "loans",
            d1,
            loan_id=lid,
            client_id=cid,
            account_id=aid,
            product_code="PL-EUR",
            principal=principal,
            currency="EUR",
            annual_rate=rate,
            term_months=months,
            start_date=start.isoformat(),
            status="active",
            updated_at=_ts(start, 10),
        )
        for n, (part, interest) in enumerate(_annuity(principal, rate, months), start=1):
            month = start.month + n
            due = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, start.day)
            bank.add(
                "loan_schedules",
                d1,
                loan_id=lid,
                installment_no=n,
                due_date=due.isoformat(),
                principal_due=part,
                interest_due=interest,
            )
            if n in paid:
                paid_on = due + timedelta(days=2 if (lid, n) == ("L001", 3) else 0)
                delivered = max(paid_on, d1)
                bank.add(
                    "loan_payments",
                    delivered,
                    payment_id=f"P-{lid}-{n}",
                    loan_id=lid,
                    installment_no=n,
                    paid_on=paid_on.isoformat(),
                    amount=part + interest,
                    currency="EUR",
                )
    bank.expected["loans.overdue_installments"] = 1  # L002 installment 3 was due 2024-12-15 and is unpaid


def _add_ledger(bank: RawBank) -> None:
    """Transactions, postings and the balances they imply, then the planted transaction defects."""
    currency = {r["account_id"]: r["currency"] for _, r in bank.rows["accounts"]}
    movements: dict[tuple[str, date], Decimal] = {}
    channels = ["card_pos", "card_online", "atm", "transfer_in", "transfer_out", "direct_debit"]
    mccs = {"card_pos": "5411", "card_online": "5967", "atm": "6011"}
    n = 0
    for day_index in range(DAYS):
        d = _day(day_index)
        for account in ["A001", "A002", "A003", "A004", "A005", "A006"]:
            if (day_index + int(account[-1])) % 3 == 0:
                continue
            n += 1
            channel = channels[(n + day_index) % len(channels)]
            amount = Decimal(n * 7 % 90 + 10) + Decimal(n % 100) / 100
            if channel != "transfer_in":
                amount = -amount
            booked = d
            delivered = d
            if n == 9:  # late_arrival: booked on day 3, delivered with day 5's file
                delivered = d + timedelta(days=2)
                bank.expected["transactions.late_arrival"] += 1
            row = {
                "transaction_id": f"T{n:05d}",
                "account_id": account,
                "booked_at": _ts(booked, 8 + n % 10, n % 60),
                "value_date": booked.isoformat(),
                "amount": f"{amount:.2f}",
                "currency": currency[account],
                "channel": channel,
                "mcc": mccs.get(channel, ""),
                "merchant": "Café Müller" if channel == "card_pos" else "",
                "counterparty_iban": iban("DE", f"50010517{n:010d}") if channel.startswith("transfer") else "",
                "description": f"payment {n}",
            }
            if n in (4, 15):  # decimal_comma
                row["amount"] = row["amount"].replace(".", ",")
                bank.expected["transactions.decimal_comma"] += 1
            if n in (6, 17, 24):  # date_format, three spellings
                spelled = {
                    6: booked.strftime("%d.%m.%Y"),
                    17: booked.strftime("%d/%m/%Y"),
                    24: booked.strftime("%Y/%m/%d"),
                }[n]
                row["booked_at"] = row["booked_at"].replace(booked.isoformat(), spelled)
                row["value_date"] = spelled
                bank.expected["transactions.date_format"] += 1
            bank.rows.setdefault("transactions", []).append((delivered, row))
            bank.ledger[row["transaction_id"]] = (account, booked, amount)
            key = (account, booked)
            movements[key] = movements.get(key, Decimal(0)) + amount
            if n in (3, 12):  # duplicate: exact copy, same file or the next day's file
                bank.rows["transactions"].append((delivered + timedelta(days=n == 12), dict(row)))
                bank.expected["transactions.duplicate"] += 1

    postings = [
        ("F001", "A001", 0, "account_fee", "-5.00"),
        ("F002", "A002", 0, "account_fee", "-5.00"),
        ("F003", "A003", 0, "account_fee", "-99.00"),
        ("F004", "A005", 2, "card_fee", "-2.50"),
        ("F005", "A005", 2, "card_interest", "-12.34"),
        ("F006", "A006", 3, "deposit_interest", "0.85"),
        ("F007", "A004", 4, "fx_fee", "-1.20"),
        ("F008", "A001", 5, "overdraft_interest", "-0.42"),
    ]
    for pid, account, day_index, ptype, amount in postings:
        d = _day(day_index)
        bank.add(
            "postings",
            d,
            posting_id=pid,
            account_id=account,
            posting_date=d.isoformat(),
            posting_type=ptype,
            amount=amount,
            currency=currency[account],
            description=ptype.replace("_", " "),
        )
        movements[(account, d)] = movements.get((account, d), Decimal(0)) + Decimal(amount)

    balance = dict.fromkeys(currency, Decimal("1000.00"))
    for (account, d), moved in sorted(movements.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        balance[account] += moved
        bank.add(
            "balances",
            d,
            account_id=account,
            balance_date=d.isoformat(),
            closing_balance=f"{balance[account]:.2f}",
            currency=currency[account],
        )

    # Rejecting defects: extra rows beside the ledger (each with exactly one defect).
    d3 = _day(2)
    base = {
        "booked_at": _ts(d3, 12),
        "value_date": d3.isoformat(),
        "amount": "-10.00",
        "currency": "EUR",
        "channel": "card_pos",
        "mcc": "5411",
        "merchant": "Shop",
        "counterparty_iban": "",
        "description": "x",
    }
    extras = [
        ("missing_mandatory", {"transaction_id": "X00001", "account_id": "A001", "amount": ""}),
        (
            "invalid_iban",
            {
                "transaction_id": "X00002",
                "account_id": "A001",
                "channel": "transfer_out",
                "mcc": "",
                "counterparty_iban": broken_iban("DE", "500105170648489890"),
            },
        ),
        ("unknown_account", {"transaction_id": "X00003", "account_id": "A999"}),
        ("unknown_currency", {"transaction_id": "X00004", "account_id": "A001", "currency": "EUX"}),
        (
            "future_date",
            {
                "transaction_id": "X00005",
                "account_id": "A001",
                "booked_at": _ts(_day(4), 9),
                "value_date": _day(4).isoformat(),
            },
        ),
    ]
    for defect, values in extras:
        bank.rows["transactions"].append((d3, {**base, **values}))
        bank.expected[f"transactions.{defect}"] += 1

    # Fraud labels, delivered days after the transaction.
    txs = [r for _, r in bank.rows["transactions"] if r["transaction_id"].startswith("T")]
    fraud = next(r for r in txs if r["channel"] == "card_online")
    genuine = next(r for r in txs if r["channel"] == "card_pos")
    bank.add(
        "fraud_labels",
        _day(5),
        transaction_id=fraud["transaction_id"],
        label="fraud",
        fraud_type="card_not_present",
        reported_on=_day(5).isoformat(),
    )
    bank.add(
        "fraud_labels",
        _day(6),
        transaction_id=genuine["transaction_id"],
        label="genuine",
        fraud_type=None,
        reported_on=_day(6).isoformat(),
    )


def _add_api(bank: RawBank) -> None:
    rates = {"CZK": 25.1, "USD": 1.04, "GBP": 0.83, "CHF": 0.94, "PLN": 4.27}
    d = date(2024, 9, 1)
    while d <= _day(DAYS - 1):
        if d.weekday() < 5 and d != date(2025, 1, 1):
            for i, (cur, rate) in enumerate(rates.items()):
                bank.fx.append(
                    {
                        "rate_date": d,
                        "currency": cur,
                        "rate_per_eur": round(rate + (d.day % 5) * 0.01 * i, 4),
                        "published_at": datetime(d.year, d.month, d.day, 16, 0),
                    }
                )
        d += timedelta(days=1)
    answers = [
        ("R001", "C001", 10, 5),
        ("R002", "C002", 6, 3),
        ("R003", "C003", 8, 4),
        ("R004", "C004", 9, 5),
        ("R005", "C005", 3, 2),
        ("R006", "C006", 10, 4),
    ]
    for i, (rid, cid, nps, csat) in enumerate(answers):
        day = _day(i % DAYS)
        bank.surveys.append(
            {
                "response_id": rid,
                "client_id": cid,
                "survey_date": day,
                "channel": "app",
                "nps_score": nps,
                "csat_score": csat,
                "comment": None,
                "answered_at": datetime(day.year, day.month, day.day, 18, i),
            }
        )


def load_raw(wh: Warehouse, bank: RawBank, through: date, after: date | None = None) -> dict[str, int]:
    """Insert the rows delivered in (after, through] as the ingest would, return rows written per table.

    Creates the raw schemas and tables on first use; a file column that appears later (batch_ref, the
    extra_column defect of the day-6 transaction file) is added as a new nullable text column, like dlt does.
    """
    written: Counter = Counter()
    line_numbers: Counter = Counter()
    loaded_at = datetime(through.year, through.month, through.day, 23, 0)
    load_id = f"{through:%Y%m%d}.0001"
    with wh.cursor() as cur:
        cur.execute("create schema if not exists raw_core_banking; create schema if not exists raw_bank_api")
        for entity, columns in CONTRACT_COLUMNS.items():
            cols = ", ".join(f"{c} text" for c in columns)
            cur.execute(
                f"create table if not exists raw_core_banking.{entity} ({cols}, _file_name text not null, "
                "_line_number bigint not null, _dlt_load_id text not null, _loaded_at timestamptz not null)"
            )
            for delivered, row in bank.rows.get(entity, []):
                if delivered > through or (after is not None and delivered <= after):
                    continue
                file_name = f"{entity}/{delivered.isoformat()}.csv"
                values = dict(row)
                if entity == "transactions" and delivered == _day(5):
                    cur.execute("alter table raw_core_banking.transactions add column if not exists batch_ref text")
                    values["batch_ref"] = "B-0006"
                line_numbers[file_name] += 1
                names = [*values, "_file_name", "_line_number", "_dlt_load_id", "_loaded_at"]
                params = [*values.values(), file_name, line_numbers[file_name] + 1, load_id, loaded_at]
                cur.execute(
                    f"insert into raw_core_banking.{entity} ({', '.join(names)}) "
                    f"values ({', '.join(['%s'] * len(names))})",
                    params,
                )
                written[entity] += 1
        cur.execute(
            "create table if not exists raw_core_banking._quarantine (file_name text, line_number bigint, "
            "raw_line text, reason text, _dlt_load_id text, _loaded_at timestamptz)"
        )
        cur.execute(
            "create table if not exists raw_core_banking._file_loads (file_name text, entity text, "
            "content_sha256 text, encoding text, lines_in bigint, rows_loaded bigint, rows_quarantined bigint, "
            "new_columns text, load_id text, loaded_at timestamptz)"
        )
        quarantine_day = _day(1)
        if quarantine_day <= through and (after is None or quarantine_day > after):
            for reason, line in [
                ("wrong_field_count", "T99998,A001,2025-01-03"),
                ("unclosed_quote", 'T99999,A001,"2025-01-03T10:00:00,-1.00'),
            ]:
                file_name = f"transactions/{quarantine_day.isoformat()}.csv"
                line_numbers[file_name] += 1
                cur.execute(
                    "insert into raw_core_banking._quarantine (file_name, line_number, raw_line, reason, "
                    "_dlt_load_id, _loaded_at) values (%s, %s, %s, %s, %s, %s)",
                    (file_name, line_numbers[file_name] + 1, line, reason, load_id, loaded_at),
                )
                written["_quarantine"] += 1
        cur.execute(
            "create table if not exists raw_bank_api.survey_responses (response_id text not null, client_id text, "
            "survey_date date, channel text, nps_score bigint, csat_score bigint, comment text, answered_at timestamp, "
            "_loaded_at timestamptz, _dlt_load_id text not null, _dlt_id text)"
        )
        cur.execute(
            "create table if not exists raw_bank_api.fx_rates (rate_date date not null, currency text not null, "
            "rate_per_eur double precision, published_at timestamp, _loaded_at timestamptz, "
            "_dlt_load_id text not null, _dlt_id text)"
        )
        for s in bank.surveys:
            if s["survey_date"] <= through and (after is None or s["survey_date"] > after):
                cur.execute(
                    f"insert into raw_bank_api.survey_responses ({', '.join(s)}, _loaded_at, _dlt_load_id, _dlt_id) "
                    f"values ({', '.join(['%s'] * (len(s) + 3))})",
                    (*s.values(), loaded_at, load_id, f"survey-{s['response_id']}"),
                )
                written["survey_responses"] += 1
        for r in bank.fx:
            if r["rate_date"] <= through and (after is None or r["rate_date"] > after):
                cur.execute(
                    f"insert into raw_bank_api.fx_rates ({', '.join(r)}, _loaded_at, _dlt_load_id, _dlt_id) "
                    f"values ({', '.join(['%s'] * (len(r) + 3))})",
                    (*r.values(), loaded_at, load_id, f"fx-{r['rate_date']}-{r['currency']}"),
                )
                written["fx_rates"] += 1
    return dict(written)


def dbt_env(wh: Warehouse):
    """Point profiles.yml at the test database for the duration of a dbt call (a context manager), with the
    pseudonym key as the session setting bankwh passes (orchestration/privacy.py)."""
    options = privacy.pgoptions(privacy.resolve_key(), os.environ.get("PGOPTIONS", ""))
    return patch.dict(os.environ, {**wh.env(), "PGOPTIONS": options})


@dataclass
class DbtRun:
    success: bool
    statuses: dict[str, str]  # node unique_id -> status (success, pass, fail, warn, error, skipped)
    rows_affected: dict[str, int] = field(default_factory=dict)  # model unique_id -> rows written
    work_dir: Path | None = None  # where target/ (manifest, catalog) and logs/ were written

    def failed(self) -> list[str]:
        return sorted(k for k, v in self.statuses.items() if v in ("fail", "error"))

    def warned(self) -> list[str]:
        return sorted(k for k, v in self.statuses.items() if v == "warn")


def run_dbt(wh: Warehouse, args: list[str], work_dir: Path, threads: int = 3) -> DbtRun:
    """Run one dbt command in-process against the test database; target/logs go to work_dir."""
    from dbt.cli.main import dbtRunner

    cli = [
        *args,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    if args and args[0] in ("build", "run", "test", "seed", "snapshot"):
        cli += ["--threads", str(threads)]
    with dbt_env(wh):
        result = dbtRunner().invoke(cli)
    statuses, rows = {}, {}
    if result.result is not None and hasattr(result.result, "results"):
        for r in result.result.results:
            statuses[r.node.unique_id] = str(r.status)
            affected = (r.adapter_response or {}).get("rows_affected")
            if affected is not None:
                rows[r.node.unique_id] = int(affected)
    if result.exception is not None:
        raise RuntimeError(f"dbt {' '.join(args)} crashed: {result.exception}")
    return DbtRun(success=bool(result.success), statuses=statuses, rows_affected=rows, work_dir=work_dir)


def query(wh: Warehouse, sql: str, params: tuple = ()) -> list[tuple]:
    with wh.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def undocumented_source_columns(wh: Warehouse, manifest: dict, schemas: tuple[str, ...]) -> list[str]:
    """Columns of the raw tables in `schemas` that the sources of the manifest do not describe.

    Compared with the tables as the database holds them, so a column the loader adds (schema drift such as
    batch_ref, dlt's lineage columns) must be documented too, not only the ones someone remembered to list.
    """
    described: dict[tuple[str, str], dict[str, str]] = {}
    for source in manifest["sources"].values():
        described[(source["schema"], source["identifier"])] = {
            name: column.get("description", "") for name, column in source["columns"].items()
        }
    missing = []
    rows = query(
        wh,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema = any(%s) order by 1, 2, ordinal_position",
        (list(schemas),),
    )
    for schema, table, column in rows:
        if table.startswith("_dlt_"):
            continue  # dlt's own bookkeeping (loads, schema versions, pipeline state), not delivered data
        columns = described.get((schema, table))
        if columns is None:
            missing.append(f"{schema}.{table} (no source)")
        elif not columns.get(column, "").strip():
            missing.append(f"{schema}.{table}.{column}")
    return missing


# --- one built warehouse per test session ----------------------------------------------------------------------------
#
# The fixture bank loaded in two deliveries and built with dbt once per session; the dbt project's tests
# (test_dbt_project.py) and the screens over it (the dashboard, the docs site) all read this one build. conftest.py
# registers the fixtures.

LOOKBACK = 2  # days; small so the second build really leaves older rows alone
VARS = ["--vars", json.dumps({"late_arrival_lookback_days": LOOKBACK})]
BALANCE_GATE = "assert_balances_reconcile_with_movements"


@dataclass
class BuiltWarehouse:
    wh: Warehouse
    bank: RawBank
    work: Path
    first: DbtRun
    balance_gate_before_late_row: DbtRun
    second: DbtRun


@pytest.fixture(scope="session")
def bank_db(server: Warehouse) -> Iterator[Warehouse]:
    """A database of its own: the session database may hold the Czech bank (test_berka.py loads it there), and
    these tests need a warehouse that never loaded the Czech bank."""
    name = f"bankwh_dbt_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    yield server.with_database(name)
    if not os.environ.get("BANKWH_TEST_KEEP_DB"):
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def built(bank_db: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    from ingest.raw_tables import ensure_raw_tables

    work = tmp_path_factory.mktemp("dbt")
    bank = build_bank()
    load_raw(bank_db, bank, through=_day(3))
    # the Czech bank's raw tables exist empty, as every ingest leaves them: its models must build empty (the demo
    # without Berka)
    ensure_raw_tables(bank_db, log=lambda *_: None)
    first = run_dbt(bank_db, ["build", "--exclude", BALANCE_GATE, *VARS], work)
    gate = run_dbt(bank_db, ["test", "--select", BALANCE_GATE], work)
    load_raw(bank_db, bank, through=_day(6), after=_day(3))
    second = run_dbt(bank_db, ["build", *VARS], work)
    return BuiltWarehouse(bank_db, bank, work, first, gate, second)


@pytest.fixture(scope="session")
def catalogued(built: BuiltWarehouse) -> Path:
    """The documentation site of the built warehouse (`dbt docs generate`: index.html, manifest.json and
    catalog.json), kept apart from target/, which later tests rewrite."""
    docs = run_dbt(built.wh, ["docs", "generate"], built.work)
    assert docs.success
    artifacts = built.work / "artifacts"
    artifacts.mkdir()
    for name in ("index.html", "manifest.json", "catalog.json"):
        shutil.copy(built.work / "target" / name, artifacts / name)
    return artifacts
