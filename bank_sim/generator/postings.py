"""Postings, the bank's revenue and cost lines: monthly fees, overdraft and card interest, deposit interest
and FX fees on card payments abroad. Amounts are signed from the client's side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import catalog as cat
from .settings import Calendar
from .state import State
from .transactions import TxBatch, open_accounts

POSTING_TYPES = ["account_fee", "card_fee", "overdraft_interest", "card_interest", "deposit_interest", "fx_fee"]
POSTING_COLUMNS = ["posting_id", "account_id", "posting_date", "posting_type", "amount", "currency", "description"]
FX_FEE_SHARE = 0.0175
PRODUCT_FEE_CENTS = np.array([round(float(p.monthly_fee) * 100) for p in cat.PRODUCTS], dtype=np.int64)
PRODUCT_RATE = np.array([float(p.interest_rate) for p in cat.PRODUCTS])
PRODUCT_TYPE = np.array([p.type for p in cat.PRODUCTS])


@dataclass
class Postings:
    acct: np.ndarray
    kind: np.ndarray
    amount: np.ndarray
    desc: list[str]


def _part(acct: np.ndarray, kind: str, amount: np.ndarray, desc: str) -> Postings:
    keep = amount != 0
    n = int(keep.sum())
    return Postings(acct[keep], np.full(n, POSTING_TYPES.index(kind)), amount[keep].astype(np.int64), [desc] * n)


def postings_for_day(state: State, cal: Calendar, day: int, tx: TxBatch) -> Postings:
    """Fees on the 1st, interest on the last day of the month (on the balance after the day's activity)."""
    parts: list[Postings] = []
    live = open_accounts(state, day)
    ptype = PRODUCT_TYPE[state.acc_product]
    date = cal.date(day)
    if date.day == 1:
        label = date.strftime("%B %Y")
        private = state.cl_segment[state.acc_client] == 2
        fee = PRODUCT_FEE_CENTS[state.acc_product]
        current = np.flatnonzero(live & (ptype == "current_account") & ~private)
        parts.append(_part(current, "account_fee", -fee[current], f"Account fee {label}"))
        cards = np.flatnonzero(live & (ptype == "credit_card"))
        parts.append(_part(cards, "card_fee", -fee[cards], f"Card fee {label}"))
    if cal.is_month_end(day):
        label = date.strftime("%B %Y")
        balance = state.acc_balance + np.bincount(tx.acct, weights=tx.amount, minlength=len(state.acc_balance))
        rate = PRODUCT_RATE[state.acc_product] / 1200.0
        interest = np.round(np.abs(balance) * rate).astype(np.int64)
        over = np.flatnonzero(live & (ptype == "current_account") & (balance < 0))
        parts.append(_part(over, "overdraft_interest", -interest[over], f"Overdraft interest {label}"))
        card = np.flatnonzero(live & (ptype == "credit_card") & (balance < 0))
        parts.append(_part(card, "card_interest", -interest[card], f"Card interest {label}"))
        dep = np.flatnonzero(live & np.isin(ptype, ["savings", "term_deposit"]) & (balance > 0))
        parts.append(_part(dep, "deposit_interest", interest[dep], f"Deposit interest {label}"))
    foreign = np.flatnonzero(tx.foreign)
    fx_fee = -np.maximum(np.round(np.abs(tx.amount[foreign]) * FX_FEE_SHARE), 1)
    parts.append(_part(tx.acct[foreign], "fx_fee", fx_fee, "FX fee card payment abroad"))
    acct = np.concatenate([p.acct for p in parts]).astype(np.int64)
    order = np.argsort(acct, kind="stable")
    desc = [d for p in parts for d in p.desc]
    return Postings(acct[order], np.concatenate([p.kind for p in parts])[order],
                    np.concatenate([p.amount for p in parts])[order], [desc[i] for i in order.tolist()])  # fmt: skip
