"""Day-to-day changes of the entity tables: client moves and re-segmentation (SCD2 history downstream),
account closures and new loans."""

from __future__ import annotations

import numpy as np

from . import catalog as cat
from . import entities, loans
from .settings import Calendar
from .state import State
from .transactions import open_accounts

CLOSABLE_ROLES = (2, 3, 4)


def _stamps(rng: np.random.Generator, cal: Calendar, day: int, n: int) -> list[str]:
    return cal.timestamps(np.full(n, day), rng.integers(8 * 3600, 20 * 3600, n))


def client_changes(rng: np.random.Generator, state: State, cal: Calendar, day: int) -> np.ndarray:
    """A few clients per day move house, change segment, renew KYC or change e-mail; returns their indices."""
    n = len(state.cl_segment)
    k = min(n, int(rng.poisson(n * 0.0008)))
    who = np.sort(rng.choice(n, k, replace=False))
    kind = rng.choice(4, k, p=[0.45, 0.25, 0.2, 0.1])
    text = state.cl_text
    for i, what in zip(who.tolist(), kind.tolist(), strict=True):
        lang, _, digits, cities, _ = cat.COUNTRIES[text["country"][i]]
        if what == 0:
            street = cat.STREETS[lang][int(rng.integers(len(cat.STREETS[lang])))]
            text["street"][i] = f"{street} {int(rng.integers(1, 180))}"
            text["city"][i] = cities[int(rng.integers(len(cities)))]
            text["postal_code"][i] = str(int(rng.integers(10 ** (digits - 1), 10**digits)))
        elif what == 1:
            state.cl_segment[i] = {0: 1, 1: int(rng.choice([0, 2])), 2: 1, 3: 3}[int(state.cl_segment[i])]
        elif what == 2:
            state.cl_kyc[i] = 0 if state.cl_kyc[i] != 0 else 2
        else:
            local, domain = text["email"][i].split("@")
            text["email"][i] = f"{local.rstrip('0123456789')}{int(rng.integers(100, 999))}@{domain}"
    for i, stamp in zip(who.tolist(), _stamps(rng, cal, day, k), strict=True):
        state.cl_updated[i] = stamp
    return who


def closures(rng: np.random.Generator, state: State, cal: Calendar, day: int, roles: np.ndarray) -> np.ndarray:
    """Close a few secondary accounts (savings, cards, FX accounts); the remaining balance is paid out."""
    candidates = np.flatnonzero(np.isin(roles, CLOSABLE_ROLES) & open_accounts(state, day))
    k = min(len(candidates), int(rng.poisson(len(state.acc_client) * 0.00004)))
    which = np.sort(rng.choice(candidates, k, replace=False)) if k else np.zeros(0, np.int64)
    state.acc_status[which] = 2
    state.acc_closed[which] = day
    state.acc_activity[which] = 0.0
    for i, stamp in zip(which.tolist(), _stamps(rng, cal, day, k), strict=True):
        state.acc_updated[i] = stamp
    return which


def new_loans(rng: np.random.Generator, state: State, cal: Calendar, day: int) -> tuple[np.ndarray, ...]:
    """Originate the day's new loans with their loan accounts; returns (account idx, loan idx, schedule)."""
    n = len(state.cl_segment)
    k = int(rng.poisson(n * 0.00005))
    clients = np.sort(rng.choice(n, k)) if k else np.zeros(0, np.int64)
    products = np.where(rng.random(k) < 0.8, cat.PRODUCT_INDEX["PL_STD"], cat.PRODUCT_INDEX["MTG_FIX"])
    stamps = _stamps(rng, cal, day, k)
    accounts = entities.append_accounts(state, clients, products.astype(np.int64), day, stamps)
    first = len(state.loan_client)
    sched = loans.originate(rng, cal, state, clients, accounts, products.astype(np.int64), np.full(k, day), stamps)
    return accounts, np.arange(first, first + k), sched
