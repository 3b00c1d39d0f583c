"""One simulated business day: changes, activity, postings, balances, loans, surveys, labels, and its files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import catalog as cat
from . import changes, defects, entities, iban, loans, postings, transactions
from .entities import ACCOUNT_COLUMNS, CLIENT_COLUMNS, account_id, money_many
from .settings import (
    STREAM_CHANGES,
    STREAM_DEFECTS,
    STREAM_DROP,
    STREAM_FRAUD,
    STREAM_LOANS,
    STREAM_SURVEYS,
    STREAM_TRANSACTIONS,
    Calendar,
    Settings,
    rng_for,
)
from .state import State
from .surveys import SURVEY_COLUMNS, survey_rows
from .transactions import CH, TxBatch, make_batch
from .writer import entry, to_cents, write_entity, write_lines

TX_COLUMNS = ["transaction_id", "account_id", "booked_at", "value_date", "amount", "currency", "channel", "mcc",
              "merchant", "counterparty_iban", "description"]  # fmt: skip
BALANCE_COLUMNS = ["account_id", "balance_date", "closing_balance", "currency"]
FRAUD_COLUMNS = ["transaction_id", "label", "fraud_type", "reported_on"]
WEEKEND_SHIFTED = np.array([CH["transfer_in"], CH["transfer_out"], CH["direct_debit"], CH["standing_order"],
                            CH["salary"]])  # fmt: skip


@dataclass
class Context:
    """Everything a day needs besides its number; `late` holds rows waiting for a later delivery."""

    settings: Settings
    out: Path
    cal: Calendar
    state: State
    last_day: int
    files: dict[str, dict]
    latin1_day: int = -1
    extra_column_days: frozenset[int] = frozenset()
    initial_schedule: loans.Schedule | None = None
    late: dict[int, list[tuple[list[str], int]]] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)
    fx_lines: list[str] = field(default_factory=list)


def closure_payouts(state: State, closed: np.ndarray, tx: TxBatch, posts: postings.Postings) -> TxBatch:
    """Pay out (or settle) what is left on accounts closed today so they end at zero."""
    if len(closed) == 0:
        return transactions.empty_batch()
    size = len(state.acc_balance)
    left = (state.acc_balance + np.bincount(tx.acct, weights=tx.amount, minlength=size).astype(np.int64)
            + np.bincount(posts.acct, weights=posts.amount, minlength=size).astype(np.int64))[closed]  # fmt: skip
    keep = left != 0
    acct, left = closed[keep], left[keep]
    primary = state.cl_primary[state.acc_client[acct]]
    cp = np.array([state.acc_iban[p] for p in primary.tolist()], dtype=object)
    channel = np.where(left > 0, CH["transfer_out"], CH["transfer_in"])
    return make_batch(acct, np.full(len(acct), 23 * 3600 + 1800), -left, channel, cp=cp,
                      desc=np.full(len(acct), "Account closure payout", dtype=object))  # fmt: skip


def transaction_rows(ctx: Context, day: int, tx: TxBatch, ids: np.ndarray) -> list[list[str]]:
    cal, state = ctx.cal, ctx.state
    value_day = np.full(len(tx), day)
    if not cal.is_business_day(day):
        ahead = 1
        while not cal.is_business_day(day + ahead):
            ahead += 1
        value_day = np.where(np.isin(tx.channel, WEEKEND_SHIFTED), day + ahead, day)
    booked = cal.timestamps(np.full(len(tx), day), tx.secs)
    value = cal.iso_many(value_day)
    amount = money_many(tx.amount)
    currency = np.array(cat.CURRENCIES)[state.acc_currency[tx.acct]].tolist()
    channel = [cat.CHANNELS[c] for c in tx.channel.tolist()]
    rows = [
        [f"T{i:010d}", f"A{a + 1:08d}", b, v, am, cu, ch, m, me, cp, de]
        for i, a, b, v, am, cu, ch, m, me, cp, de in zip(
            ids.tolist(), tx.acct.tolist(), booked, value, amount, currency, channel, tx.mcc.tolist(),
            tx.merchant.tolist(), tx.cp.tolist(), tx.desc.tolist(), strict=True,
        )
    ]  # fmt: skip
    return rows


def deliver_transactions(ctx: Context, day: int, rows: list[list[str]], cents: np.ndarray) -> None:
    """Hold back late arrivals, inject the day's defects, write `transactions/<day>.csv` and its record."""
    s, cal = ctx.settings, ctx.cal
    rng = rng_for(s.seed, day, STREAM_DEFECTS)
    counts = defects.draw_counts(rng, len(rows), s.defect_rate, defects.TX_DEFECTS)
    n_late = counts["late_arrival"] if day < ctx.last_day else 0
    late_idx = set(rng.permutation(len(rows))[:n_late].tolist())
    for i in sorted(late_idx):
        delay = int(rng.integers(1, min(3, ctx.last_day - day) + 1))
        ctx.late.setdefault(day + delay, []).append((rows[i], int(cents[i])))
    arrived = ctx.late.pop(day, [])
    file_rows = [r for r, _ in arrived] + [r for i, r in enumerate(rows) if i not in late_idx]
    total = sum(c for _, c in arrived) + int(cents.sum()) - sum(int(cents[i]) for i in late_idx)
    encoding = "latin-1" if day == ctx.latin1_day else "utf-8"
    if encoding == "latin-1":
        defects.ensure_non_ascii(file_rows)
    batch_ref = f"B{cal.iso(day).replace('-', '')}01" if day in ctx.extra_column_days else None
    n_extra = sum(counts[k] for k in ("missing_mandatory", "invalid_iban", "unknown_account", "unknown_currency",
                                      "future_date", "wrong_field_count", "unclosed_quote"))  # fmt: skip
    new_ids = [f"T{i:010d}" for i in ctx.state.next_ids("transaction", n_extra).tolist()]
    n_valid = len(file_rows)
    lines, realised = defects.transaction_file(rng, file_rows, counts, new_ids, cal, day, ctx.state.payees,
                                               batch_ref)  # fmt: skip
    realised["late_arrival"] = len(arrived)
    realised["extra_column"] = 1 if batch_ref else 0
    realised["latin1"] = 1 if encoding == "latin-1" else 0
    columns = TX_COLUMNS + (["batch_ref"] if batch_ref else [])
    rel = f"transactions/{cal.iso(day)}.csv"
    write_lines(ctx.out / rel, columns, lines, encoding)
    ctx.files[rel] = entry("transactions", columns, len(lines), n_valid, total, "amount", encoding, realised)
    ctx.stats["transactions"] += n_valid


def deliver_entity_with_defects(ctx: Context, day: int, entity: str, columns: list[str], rows: list[list[str]],
                                kinds: list[str], date_column: int | None = None) -> None:  # fmt: skip
    rng = rng_for(ctx.settings.seed, day, STREAM_DEFECTS + 100 + len(entity))
    n_valid = len(rows)
    lines, realised = defects.entity_file(rng, rows, ctx.settings.defect_rate, kinds, date_column)
    rel = f"{entity}/{ctx.cal.iso(day)}.csv"
    write_lines(ctx.out / rel, columns, lines)
    ctx.files[rel] = entry(entity, columns, len(lines), n_valid, defects=realised)
    ctx.stats[entity] += n_valid


def fraud_label_rows(ctx: Context, day: int, tx: TxBatch, ids: np.ndarray) -> list[list[str]]:
    """Queue labels for today's fraud and flagged transactions (reported 1–30 days later); return due ones."""
    state = ctx.state
    rng = rng_for(ctx.settings.seed, day, STREAM_FRAUD + 100)
    labelled = np.flatnonzero((tx.fraud != "") | tx.flagged)
    delay = rng.integers(1, 31, len(labelled))
    for j, d in zip(labelled.tolist(), delay.tolist(), strict=True):
        is_fraud = tx.fraud[j] != ""
        state.fl_rows.append((day + d, f"T{ids[j]:010d}", "fraud" if is_fraud else "genuine", tx.fraud[j]))
    due = [r for r in state.fl_rows if r[0] == day]
    state.fl_rows = [r for r in state.fl_rows if r[0] != day]
    iso = ctx.cal.iso(day)
    return [[tid, label, kind, iso] for _, tid, label, kind in sorted(due, key=lambda r: r[1])]


def loan_updates(ctx: Context, day: int, new: np.ndarray) -> tuple[np.ndarray, list[list[str]]]:
    """Apply status events due today (all past ones on the first day); returns changed loans and payments."""
    state, cal = ctx.state, ctx.cal
    ev_loan, ev_day, ev_status = loans.take_status_events(state, day)
    for lo, d, st in zip(ev_loan.tolist(), ev_day.tolist(), ev_status.tolist(), strict=True):
        state.loan_status[lo] = st
        state.loan_updated[lo] = f"{cal.iso(d)}T07:00:00"
    changed = np.arange(len(state.loan_client)) if day == 0 else np.unique(np.r_[new, ev_loan])
    payments = loans.payment_rows(state, loans.take_payments(state, day), cal)
    return changed.astype(np.int64), payments


def planted_drop(ctx: Context, day: int, tx: TxBatch) -> TxBatch:
    """The everyday activity of `settings.drop_day` thinned to 1 - drop_share (an outage), before balances are
    computed, so the day's files stay consistent with each other and only its volume tells. Its own random stream:
    the other days and streams are unchanged."""
    s = ctx.settings
    if s.drop_day is None or ctx.cal.iso(day) != s.drop_day or not len(tx):
        return tx
    keep = rng_for(s.seed, day, STREAM_DROP).random(len(tx)) >= s.drop_share
    return transactions.subset(tx, np.flatnonzero(keep))


def simulate_day(ctx: Context, day: int) -> None:
    """Advance the bank by one day and deliver that day's files."""
    s, state, cal, out = ctx.settings, ctx.state, ctx.cal, ctx.out
    iso = cal.iso(day)
    closed = np.zeros(0, np.int64)
    new_loans = np.zeros(0, np.int64)
    sched = ctx.initial_schedule
    if day == 0:
        clients_changed = np.arange(len(state.cl_segment))
        accounts_changed = np.arange(len(state.acc_client))
    else:
        rng = rng_for(s.seed, day, STREAM_CHANGES)
        clients_changed = changes.client_changes(rng, state, cal, day)
        closed = changes.closures(rng, state, cal, day, transactions.account_roles(state))
        new_acc, new_loans, sched = changes.new_loans(rng_for(s.seed, day, STREAM_LOANS), state, cal, day)
        accounts_changed = np.unique(np.r_[closed, new_acc]).astype(np.int64)
    roles = transactions.account_roles(state)
    rng = rng_for(s.seed, day, STREAM_TRANSACTIONS)
    rng_f = rng_for(s.seed, day, STREAM_FRAUD)
    fresh = iban.random_ibans(rng_f, list(rng_f.choice([*cat.EUR_COUNTRIES, "ES", "IT"], 8)))
    tx = transactions.concat([
        planted_drop(ctx, day, transactions.regular(rng, state, cal, day, roles)),
        transactions.salaries(rng, state, cal, day),
        transactions.card_repayments(rng, state, cal, day, roles),
        transactions.fraud(rng_f, state, cal, day, roles, fresh),
    ])  # fmt: skip
    posts = postings.postings_for_day(state, cal, day, tx)
    tx = transactions.concat([tx, closure_payouts(state, closed, tx, posts)])
    tx = transactions.subset(tx, np.lexsort((tx.acct, tx.secs)))
    ids = state.next_ids("transaction", len(tx))
    size = len(state.acc_balance)
    state.acc_balance += (np.bincount(tx.acct, weights=tx.amount, minlength=size).astype(np.int64)
                          + np.bincount(posts.acct, weights=posts.amount, minlength=size).astype(np.int64))  # fmt: skip
    movers = np.unique(np.r_[tx.acct, posts.acct]).astype(np.int64)

    deliver_transactions(ctx, day, transaction_rows(ctx, day, tx, ids), tx.amount)
    currency = np.array(cat.CURRENCIES)
    balance_rows = [[account_id(a), iso, b, c] for a, b, c in zip(
        movers.tolist(), money_many(state.acc_balance[movers]), currency[state.acc_currency[movers]].tolist(),
        strict=True)]  # fmt: skip
    write_entity(out, "balances", iso, BALANCE_COLUMNS, balance_rows, ctx.files, "closing_balance")
    ctx.stats["balances"] += len(balance_rows)
    if len(posts.acct):
        pids = state.next_ids("posting", len(posts.acct)).tolist()
        rows = [[f"P{p:010d}", account_id(a), iso, postings.POSTING_TYPES[k], m, c, d] for p, a, k, m, c, d in zip(
            pids, posts.acct.tolist(), posts.kind.tolist(), money_many(posts.amount),
            currency[state.acc_currency[posts.acct]].tolist(), posts.desc, strict=True)]  # fmt: skip
        write_entity(out, "postings", iso, postings.POSTING_COLUMNS, rows, ctx.files, "amount")
        ctx.stats["postings"] += len(rows)

    if day == 0:
        write_entity(out, "products", iso, entities.PRODUCT_COLUMNS, entities.product_rows(cal.iso(-1)), ctx.files)
    if len(clients_changed):
        deliver_entity_with_defects(ctx, day, "clients", CLIENT_COLUMNS, entities.client_rows(state, clients_changed),
                                    ["duplicate", "date_format"], CLIENT_COLUMNS.index("birth_date"))  # fmt: skip
    if len(accounts_changed):
        deliver_entity_with_defects(ctx, day, "accounts", ACCOUNT_COLUMNS,
                                    entities.account_rows(state, accounts_changed, cal), ["duplicate"])  # fmt: skip
    changed_loans, payments = loan_updates(ctx, day, new_loans)
    _write_optional(ctx, day, "loans", loans.LOAN_COLUMNS, loans.loan_rows(state, changed_loans, cal), "principal")
    if sched is not None:
        rows = loans.schedule_rows(sched, cal)
        _write_optional(ctx, day, "loan_schedules", loans.SCHEDULE_COLUMNS, rows, "principal_due")
    _write_optional(ctx, day, "loan_payments", loans.PAYMENT_COLUMNS, payments, "amount")
    surveys = survey_rows(rng_for(s.seed, day, STREAM_SURVEYS), state, cal, day)
    _write_optional(ctx, day, "surveys", SURVEY_COLUMNS, surveys)
    _write_optional(ctx, day, "fraud_labels", FRAUD_COLUMNS, fraud_label_rows(ctx, day, tx, ids))
    ctx.initial_schedule = None
    state.last_day = day


def _write_optional(ctx: Context, day: int, entity: str, columns: list[str], rows: list[list[str]],
                    amount_column: str | None = None) -> None:  # fmt: skip
    """Event and change files are delivered only on days that have rows."""
    if rows:
        write_entity(ctx.out, entity, ctx.cal.iso(day), columns, rows, ctx.files, amount_column)
        ctx.stats[entity] += len(rows)


__all__ = ["Context", "simulate_day", "to_cents"]
