"""The bank's state between days: entity tables, balances, counters and events that are due later.

Saved as `<out>/.generator_state.pkl` after every run so `--next-day` continues exactly where the run stopped.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

STATE_FILE = ".generator_state.pkl"
NEVER = 10**6  # closed_on / day sentinel for "not (yet)"


@dataclass
class State:
    """Column arrays per entity; row i of every `acc_*` array is account i (account_id A{i+1:08d})."""

    settings: dict[str, object]
    last_day: int = -1
    # clients: text columns as lists, codes as integer arrays
    cl_text: dict[str, list[str]] = field(default_factory=dict)
    cl_segment: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cl_risk: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cl_kyc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cl_updated: list[str] = field(default_factory=list)
    cl_onboarded: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cl_primary: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cl_salary: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cl_salary_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # accounts
    acc_client: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_product: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_currency: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_opened: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_closed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_status: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_credit_limit: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_overdraft: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_balance: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    acc_activity: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    acc_iban: list[str] = field(default_factory=list)
    acc_updated: list[str] = field(default_factory=list)
    # loans
    loan_client: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_account: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_product: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_principal: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_rate_bp: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_term: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_status: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loan_updated: list[str] = field(default_factory=list)
    # events due later: loan payments, loan status changes, fraud labels
    pay_loan: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pay_inst: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pay_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pay_amount: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_loan: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_status: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fl_rows: list[tuple[int, str, str, str]] = field(default_factory=list)  # (day, id, label, fraud_type)
    # counterparty IBANs (employers, landlords, utilities, friends)
    payees: list[str] = field(default_factory=list)
    fx_last: dict[str, float] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def next_ids(self, name: str, n: int) -> np.ndarray:
        """Reserve n consecutive numbers of a counter (transaction, posting, payment, response ids)."""
        first = self.counters.get(name, 1)
        self.counters[name] = first + n
        return np.arange(first, first + n, dtype=np.int64)


def save(state: State, out: Path) -> None:
    with (out / STATE_FILE).open("wb") as fh:
        pickle.dump(state, fh, protocol=5)


def load(out: Path) -> State:
    path = out / STATE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no generator state; run `bankwh generate` into {out} first")
    with path.open("rb") as fh:
        state = pickle.load(fh)
    if not isinstance(state, State):
        raise ValueError(f"{path}: not a generator state file")
    return state
