"""Defects of the dirty exports, exactly as listed in docs/source_contract.md.

Rejecting defects are extra rows or lines beside the ledger; repairable defects rewrite how a real row is
written. Every injected defect is counted so the manifest can be checked against the files.
"""

from __future__ import annotations

import numpy as np

from . import catalog as cat
from . import iban
from .settings import Calendar
from .writer import to_lines

TX_DEFECTS = [
    "duplicate", "missing_mandatory", "decimal_comma", "date_format", "invalid_iban", "unknown_account",
    "unknown_currency", "future_date", "wrong_field_count", "unclosed_quote", "late_arrival",
]  # fmt: skip
MANDATORY = [0, 1, 2, 4, 5]  # transaction_id, account_id, booked_at, amount, currency
AMOUNT, BOOKED, VALUE_DATE, CURRENCY, ACCOUNT, MERCHANT, CP, DESC = 4, 2, 3, 5, 1, 8, 9, 10


def draw_counts(rng: np.random.Generator, n_rows: int, rate: float, kinds: list[str]) -> dict[str, int]:
    """How many rows of a file get each defect: about `rate` of the rows in total, kinds equally likely."""
    affected = int(rng.binomial(n_rows, rate)) if n_rows else 0
    picks = rng.choice(len(kinds), affected) if affected else np.zeros(0, np.int64)
    counts = np.bincount(picks, minlength=len(kinds))
    return {k: int(c) for k, c in zip(kinds, counts.tolist(), strict=True)}


def other_date_format(iso: str, which: int) -> str:
    """ISO date written as DD.MM.YYYY, DD/MM/YYYY or YYYY/MM/DD."""
    y, m, d = iso[:4], iso[5:7], iso[8:10]
    return [f"{d}.{m}.{y}", f"{d}/{m}/{y}", f"{y}/{m}/{d}"][which % 3]


def _insert(rng: np.random.Generator, items: list, extras: list) -> list:
    for extra in extras:
        items.insert(int(rng.integers(0, len(items) + 1)), extra)
    return items


def reject_row(rng: np.random.Generator, template: list[str], kind: str, new_id: str, cal: Calendar, day: int,
               payees: list[str]) -> list[str]:  # fmt: skip
    """A row that must be rejected for exactly one reason, built from a clean real row."""
    row = list(template)
    row[0] = new_id
    if kind == "missing_mandatory":
        row[MANDATORY[int(rng.integers(len(MANDATORY)))]] = ""
    elif kind == "invalid_iban":
        row[6], row[7], row[MERCHANT], row[DESC] = "transfer_out", "", "", "SEPA transfer"
        row[CP] = iban.corrupt(payees[int(rng.integers(len(payees)))])
    elif kind == "unknown_account":
        row[ACCOUNT] = f"A{90_000_000 + int(rng.integers(0, 9_999_999)):08d}"
    elif kind == "unknown_currency":
        row[CURRENCY] = cat.UNKNOWN_CURRENCIES[int(rng.integers(len(cat.UNKNOWN_CURRENCIES)))]
    elif kind == "future_date":
        ahead = cal.iso(day + int(rng.integers(1, 31)))
        row[BOOKED] = ahead + row[BOOKED][10:]
        row[VALUE_DATE] = ahead
    return row


def broken_line(rng: np.random.Generator, template: list[str], kind: str, new_id: str) -> str:
    """A line that cannot be a record: a field too few/many, or a quote that never closes."""
    fields = [new_id, *template[1:]]
    if kind == "wrong_field_count":
        fields = fields[:-1] if rng.random() < 0.5 else [*fields, "X"]
        return to_lines([fields])[0]
    return ",".join(fields[:DESC]) + ',"' + ",".join(fields[DESC:])


def transaction_file(rng: np.random.Generator, rows: list[list[str]], counts: dict[str, int],
                     new_ids: list[str], cal: Calendar, day: int, payees: list[str],
                     batch_ref: str | None) -> tuple[list[str], dict[str, int]]:  # fmt: skip
    """Lines of one transactions delivery. `rows` are the ledger rows to deliver, late arrivals first; the
    on-time rows (booked today) serve as templates and carriers of the row defects."""
    on_time = [i for i, r in enumerate(rows) if r[BOOKED][:10] == cal.iso(day)]
    templates = [list(rows[i]) for i in on_time]
    realised = {k: 0 for k in TX_DEFECTS if k != "late_arrival"}
    if not on_time:
        return to_lines([r + ([batch_ref] if batch_ref else []) for r in rows]), realised
    order = rng.permutation(on_time).tolist()
    take = {}
    for kind in ("decimal_comma", "date_format", "duplicate"):
        take[kind], order = order[: counts[kind]], order[counts[kind] :]
        realised[kind] = len(take[kind])
    for i in take["decimal_comma"]:
        rows[i][AMOUNT] = rows[i][AMOUNT].replace(".", ",")
    for i in take["date_format"]:
        rows[i][VALUE_DATE] = other_date_format(rows[i][VALUE_DATE], int(rng.integers(3)))
    extras = [list(rows[i]) for i in take["duplicate"]]
    ids = iter(new_ids)
    for kind in ("missing_mandatory", "invalid_iban", "unknown_account", "unknown_currency", "future_date"):
        for _ in range(counts[kind]):
            template = templates[int(rng.integers(len(templates)))]
            extras.append(reject_row(rng, template, kind, next(ids), cal, day, payees))
        realised[kind] = counts[kind]
    all_rows = _insert(rng, rows, extras)
    if batch_ref:
        all_rows = [[*r, batch_ref] for r in all_rows]
    lines = to_lines(all_rows)
    broken = []
    for kind in ("wrong_field_count", "unclosed_quote"):
        for _ in range(counts[kind]):
            template = templates[int(rng.integers(len(templates)))] + ([batch_ref] if batch_ref else [])
            broken.append(broken_line(rng, template, kind, next(ids)))
        realised[kind] = counts[kind]
    return _insert(rng, lines, broken), realised


def entity_file(rng: np.random.Generator, rows: list[list[str]], rate: float, kinds: list[str],
                date_column: int | None = None) -> tuple[list[str], dict[str, int]]:  # fmt: skip
    """Clients/accounts deliveries: exact duplicates and (clients) dates in another format."""
    counts = draw_counts(rng, len(rows), rate, kinds)
    order = rng.permutation(len(rows)).tolist()
    dated, order = order[: counts.get("date_format", 0)], order[counts.get("date_format", 0) :]
    dup = order[: counts.get("duplicate", 0)]
    for i in dated:
        rows[i][date_column] = other_date_format(rows[i][date_column], int(rng.integers(3)))  # type: ignore[index]
    copies = [list(rows[i]) for i in dup]
    realised = {"duplicate": len(dup)}
    if "date_format" in kinds:
        realised["date_format"] = len(dated)
    return to_lines(_insert(rng, list(rows), copies)), realised


def ensure_non_ascii(rows: list[list[str]]) -> None:
    """The Latin-1 delivery must contain accented text, or its encoding could not be told apart."""
    if any(not "".join(r).isascii() for r in rows):
        return
    for r in rows:
        if r[MERCHANT]:
            r[MERCHANT] = "Café Müller"
            return
    if rows:
        rows[0][DESC] = rows[0][DESC] + " Rückbuchung"
