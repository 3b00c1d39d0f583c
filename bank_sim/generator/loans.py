"""Loans: annuity schedules (exact to the cent), and each loan's payment behaviour drawn at origination.

A loan's whole future (which installments are paid, when, and whether it defaults) is decided when it is
created and kept as due events in the state, so any day can be delivered without replaying the past.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import catalog as cat
from .entities import client_id, money_many
from .settings import Calendar
from .state import State

LOAN_COLUMNS = ["loan_id", "client_id", "account_id", "product_code", "principal", "currency", "annual_rate",
                "term_months", "start_date", "status", "updated_at"]  # fmt: skip
SCHEDULE_COLUMNS = ["loan_id", "installment_no", "due_date", "principal_due", "interest_due"]
PAYMENT_COLUMNS = ["payment_id", "loan_id", "installment_no", "paid_on", "amount", "currency"]
# Annual probability of default by risk rating 1..5, and the share of late installments.
ANNUAL_PD = np.array([0.004, 0.01, 0.03, 0.07, 0.15])
LATE_SHARE = np.array([0.02, 0.04, 0.08, 0.13, 0.2])
MISSED_SHARE = np.array([0.002, 0.004, 0.008, 0.015, 0.03])
STATUS = {name: i for i, name in enumerate(cat.LOAN_STATUS)}


def loan_id(i: int) -> str:
    return f"L{i + 1:07d}"


@dataclass
class Schedule:
    """Flat installment table of a batch of loans (one row per installment, grouped by loan, in order)."""

    loan: np.ndarray
    inst: np.ndarray
    due: np.ndarray
    principal: np.ndarray
    interest: np.ndarray
    pos: np.ndarray  # position of the row's loan within the batch


def draw_terms(rng: np.random.Generator, products: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, ...]:
    """Principal (cents), annual rate (basis points) and term (months) by product and risk rating."""
    n = len(products)
    mortgage = products == cat.PRODUCT_INDEX["MTG_FIX"]
    principal_eur = np.where(mortgage, rng.lognormal(np.log(220_000), 0.45, n), rng.lognormal(np.log(12_000), 0.6, n))
    principal = (np.round(principal_eur / 100) * 10_000).astype(np.int64)
    principal = np.maximum(principal, 100_000)
    base_bp = np.where(mortgage, 360, 790)
    rate_bp = base_bp + (risk - 1) * 75 + rng.integers(-30, 31, n)
    term = np.where(mortgage, rng.choice([180, 240, 300, 360], n), rng.choice([12, 24, 36, 48, 60, 84], n))
    return principal, rate_bp.astype(np.int64), term.astype(np.int64)


def due_days(cal: Calendar, start: np.ndarray, inst: np.ndarray) -> np.ndarray:
    """Due date of installment k: k months after the start, on the start's day of month (capped at 28)."""
    start_dates = cal.np_start + start
    month = start_dates.astype("datetime64[M]")
    dom = np.minimum((start_dates - month.astype("datetime64[D]")).astype(np.int64), 27)
    due = (month + inst).astype("datetime64[D]") + dom
    return (due - cal.np_start).astype(np.int64)


def schedule(cal: Calendar, loans: np.ndarray, principal: np.ndarray, rate_bp: np.ndarray, term: np.ndarray,
             start: np.ndarray) -> Schedule:  # fmt: skip
    """Annuity schedule; principal parts are differences of rounded outstanding balances and the last one
    takes the rest, so sum(principal_due) == principal to the cent."""
    rep = np.repeat(np.arange(len(loans)), term)
    offsets = np.cumsum(term) - term
    k = np.arange(len(rep)) - offsets[rep] + 1
    r = rate_bp[rep] / 10_000.0 / 12.0
    p = principal[rep].astype(np.float64)
    n = term[rep].astype(np.float64)
    annuity = p * r / (1 - (1 + r) ** -n)

    def outstanding(j: np.ndarray) -> np.ndarray:
        return np.round(p * (1 + r) ** j - annuity * ((1 + r) ** j - 1) / r)

    before = outstanding(k - 1)
    after = np.where(k == n, 0, outstanding(k))
    principal_due = (before - after).astype(np.int64)
    interest_due = np.round(before * r).astype(np.int64)
    last = k == n
    paid_before_last = np.bincount(rep, weights=np.where(last, 0, principal_due), minlength=len(loans))
    principal_due[last] = principal[rep[last]] - paid_before_last[rep[last]].astype(np.int64)
    return Schedule(loans[rep], k.astype(np.int64), due_days(cal, start[rep], k), principal_due, interest_due, rep)


def plan_payments(rng: np.random.Generator, sched: Schedule, risk: np.ndarray,
                  term: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Which installments get paid and when, plus each loan's status event (repaid / defaulted).

    risk (1..5) and term are per loan of the batch. Higher ratings default sooner and pay late more often;
    a defaulting loan stops paying at its first missed installment and is declared defaulted the day after
    the third unpaid due date.
    """
    n_loans = len(risk)
    monthly = 1 - (1 - ANNUAL_PD[risk - 1]) ** (1 / 12)
    default_at = rng.geometric(np.maximum(monthly, 1e-9))
    row_risk = risk[sched.pos] - 1
    u = rng.random(len(sched.loan))
    late = u < LATE_SHARE[row_risk]
    missed = (u > 1 - MISSED_SHARE[row_risk]) & (sched.inst < term[sched.pos])
    delay = np.where(late, rng.integers(1, 46, len(u)), -rng.integers(0, 3, len(u)))
    paid = (sched.inst < default_at[sched.pos]) & ~missed
    pay_day = sched.due + delay
    offsets = np.cumsum(term) - term
    defaults = default_at <= term
    third = np.minimum(default_at + 2, term)
    default_day = sched.due[offsets + np.where(defaults, third, term) - 1] + 1
    last_paid = np.full(n_loans, -(10**6), np.int64)
    np.maximum.at(last_paid, sched.pos[paid], pay_day[paid])
    ev_day = np.where(defaults, default_day, np.maximum(last_paid, sched.due[offsets + term - 1]))
    ev_status = np.where(defaults, STATUS["defaulted"], STATUS["repaid"])
    amount = sched.principal + sched.interest
    ev_loan = np.unique(sched.loan) if n_loans else np.zeros(0, np.int64)
    return (sched.loan[paid], sched.inst[paid], pay_day[paid], amount[paid], ev_loan, ev_day.astype(np.int64),
            ev_status.astype(np.int64))  # fmt: skip


def originate(rng: np.random.Generator, cal: Calendar, state: State, clients: np.ndarray, accounts: np.ndarray,
              products: np.ndarray, start: np.ndarray, stamps: list[str]) -> Schedule:  # fmt: skip
    """Add loans to the state (terms, payment plan, status events); returns their schedule for delivery."""
    risk = state.cl_risk[clients]
    principal, rate_bp, term = draw_terms(rng, products, risk)
    first = len(state.loan_client)
    ids = np.arange(first, first + len(clients), dtype=np.int64)
    sched = schedule(cal, ids, principal, rate_bp, term, start)
    pays = plan_payments(rng, sched, risk, term)
    state.loan_client = np.r_[state.loan_client, clients]
    state.loan_account = np.r_[state.loan_account, accounts]
    state.loan_product = np.r_[state.loan_product, products]
    state.loan_principal = np.r_[state.loan_principal, principal]
    state.loan_rate_bp = np.r_[state.loan_rate_bp, rate_bp]
    state.loan_term = np.r_[state.loan_term, term]
    state.loan_start = np.r_[state.loan_start, start]
    state.loan_status = np.r_[state.loan_status, np.zeros(len(clients), np.int64)]
    state.loan_updated.extend(stamps)
    state.pay_loan, state.pay_inst = np.r_[state.pay_loan, pays[0]], np.r_[state.pay_inst, pays[1]]
    state.pay_day, state.pay_amount = np.r_[state.pay_day, pays[2]], np.r_[state.pay_amount, pays[3]]
    state.ev_loan, state.ev_day = np.r_[state.ev_loan, pays[4]], np.r_[state.ev_day, pays[5]]
    state.ev_status = np.r_[state.ev_status, pays[6]]
    return sched


def loan_rows(state: State, idx: np.ndarray, cal: Calendar) -> list[list[str]]:
    principal = money_many(state.loan_principal[idx])
    rows = []
    for j, i in enumerate(idx.tolist()):
        bp = int(state.loan_rate_bp[i])
        rows.append([
            loan_id(i), client_id(int(state.loan_client[i])), f"A{int(state.loan_account[i]) + 1:08d}",
            cat.PRODUCTS[state.loan_product[i]].code, principal[j], "EUR", f"{bp // 100}.{bp % 100:02d}",
            str(int(state.loan_term[i])), cal.iso(int(state.loan_start[i])), cat.LOAN_STATUS[state.loan_status[i]],
            state.loan_updated[i],
        ])  # fmt: skip
    return rows


def schedule_rows(sched: Schedule, cal: Calendar) -> list[list[str]]:
    due = cal.iso_many(sched.due)
    principal, interest = money_many(sched.principal), money_many(sched.interest)
    return [
        [loan_id(lo), str(k), d, p, i]
        for lo, k, d, p, i in zip(sched.loan.tolist(), sched.inst.tolist(), due, principal, interest, strict=True)
    ]


def take_payments(state: State, until: int) -> tuple[np.ndarray, ...]:
    """Remove and return (loan, installment, day, amount) of payments made on or before `until`."""
    due = state.pay_day <= until
    out = (state.pay_loan[due], state.pay_inst[due], state.pay_day[due], state.pay_amount[due])
    keep = ~due
    state.pay_loan, state.pay_inst = state.pay_loan[keep], state.pay_inst[keep]
    state.pay_day, state.pay_amount = state.pay_day[keep], state.pay_amount[keep]
    order = np.lexsort((out[1], out[0], out[2]))
    return tuple(a[order] for a in out)


def take_status_events(state: State, until: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    due = state.ev_day <= until
    out = (state.ev_loan[due], state.ev_day[due], state.ev_status[due])
    keep = ~due
    state.ev_loan, state.ev_day, state.ev_status = state.ev_loan[keep], state.ev_day[keep], state.ev_status[keep]
    return out


def payment_rows(state: State, pays: tuple[np.ndarray, ...], cal: Calendar) -> list[list[str]]:
    loans, inst, days, amount = pays
    ids = state.next_ids("payment", len(loans))
    paid_on = cal.iso_many(days)
    amounts = money_many(amount)
    return [
        [f"LP{pid:09d}", loan_id(lo), str(k), d, a, "EUR"]
        for pid, lo, k, d, a in zip(ids.tolist(), loans.tolist(), inst.tolist(), paid_on, amounts, strict=True)
    ]
