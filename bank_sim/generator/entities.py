"""Products, clients and accounts: the opening book of the bank and how entity rows are written."""

from __future__ import annotations

import unicodedata

import numpy as np

from . import catalog as cat
from . import iban
from .settings import Calendar
from .state import NEVER, State

CLIENT_COLUMNS = [
    "client_id", "first_name", "last_name", "birth_date", "national_id", "email", "phone", "street", "city",
    "postal_code", "country", "segment", "risk_rating", "kyc_status", "onboarded_on", "updated_at",
]  # fmt: skip
ACCOUNT_COLUMNS = [
    "account_id", "client_id", "iban", "product_code", "currency", "opened_on", "closed_on", "status",
    "credit_limit", "overdraft_limit", "updated_at",
]  # fmt: skip
PRODUCT_COLUMNS = ["product_code", "product_name", "product_type", "currency", "monthly_fee", "interest_rate",
                   "updated_at"]  # fmt: skip

COUNTRY_CODES = list(cat.COUNTRIES)
SEGMENT_SALARY_EUR = np.array([2300.0, 5200.0, 11000.0, 0.0])
SEGMENT_ACTIVITY = np.array([1.0, 1.3, 1.2, 2.0])
SEGMENT_BALANCE_EUR = np.array([1800.0, 9000.0, 40000.0, 15000.0])
SEGMENT_OVERDRAFT_EUR = np.array([500, 2000, 5000, 3000])
SEGMENT_CARD_LIMIT_EUR = np.array([1500, 5000, 15000, 8000])


def client_id(i: int) -> str:
    return f"C{i + 1:07d}"


def account_id(i: int) -> str:
    return f"A{i + 1:08d}"


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def money_many(cents: np.ndarray) -> list[str]:
    return [f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}" for c in cents.tolist()]


def fx_factor(currency_idx: np.ndarray) -> np.ndarray:
    """Units of the account currency per EUR, to express EUR-calibrated amounts in the account's currency."""
    table = np.array([cat.FX_BASE[c] for c in cat.CURRENCIES])
    return table[currency_idx]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _pick(rng: np.random.Generator, options: list[str], n: int) -> list[str]:
    return [options[i] for i in rng.integers(0, len(options), size=n).tolist()]


def build_clients(rng: np.random.Generator, n: int, cal: Calendar, state: State) -> None:
    """Personal data, segment, risk and KYC for n clients, drawn per country in bulk."""
    weights = np.array([c[4] for c in cat.COUNTRIES.values()])
    country_idx = rng.choice(len(COUNTRY_CODES), size=n, p=weights / weights.sum())
    text: dict[str, list[str]] = {k: [""] * n for k in ["first_name", "last_name", "street", "city", "postal_code"]}
    for ci, code in enumerate(COUNTRY_CODES):
        rows = np.flatnonzero(country_idx == ci)
        lang, _, pc_digits, cities, _ = cat.COUNTRIES[code]
        firsts = _pick(rng, cat.FIRST_NAMES[lang], len(rows))
        lasts = _pick(rng, cat.LAST_NAMES[lang], len(rows))
        streets = _pick(rng, cat.STREETS[lang], len(rows))
        numbers = rng.integers(1, 180, size=len(rows)).tolist()
        towns = _pick(rng, cities, len(rows))
        postals = rng.integers(10 ** (pc_digits - 1), 10**pc_digits, size=len(rows)).tolist()
        for j, r in enumerate(rows.tolist()):
            text["first_name"][r] = firsts[j]
            text["last_name"][r] = lasts[j]
            text["street"][r] = f"{streets[j]} {numbers[j]}"
            text["city"][r] = towns[j]
            text["postal_code"][r] = str(postals[j])
    countries = [COUNTRY_CODES[i] for i in country_idx.tolist()]
    age_days = (rng.triangular(18, 38, 86, size=n) * 365.25).astype(np.int64)
    birth = -age_days - 1
    lo = np.maximum(birth + int(18 * 365.25), -20 * 365)
    onboarded = lo + (rng.random(n) * (-1 - lo)).astype(np.int64)
    ids = np.arange(n, dtype=np.int64)
    nat = (ids * 7_919_117 + int(rng.integers(0, 10**9))) % 10**9
    suffix = rng.integers(1, 99, size=n).tolist()
    domains = _pick(rng, cat.EMAIL_DOMAINS, n)
    phone_numbers = rng.integers(100_000_000, 999_999_999, size=n).tolist()
    text["birth_date"] = cal.iso_many(birth)
    text["national_id"] = [f"{c}{v:09d}" for c, v in zip(countries, nat.tolist(), strict=True)]
    text["email"] = [
        f"{_ascii(f)}.{_ascii(la)}{s}@{d}"
        for f, la, s, d in zip(text["first_name"], text["last_name"], suffix, domains, strict=True)
    ]
    text["phone"] = [f"{cat.COUNTRIES[c][1]} {p}" for c, p in zip(countries, phone_numbers, strict=True)]
    text["country"] = countries
    text["onboarded_on"] = cal.iso_many(onboarded)
    state.cl_text = text
    state.cl_segment = rng.choice(4, size=n, p=cat.SEGMENT_WEIGHTS)
    state.cl_risk = rng.choice(5, size=n, p=cat.RISK_WEIGHTS) + 1
    state.cl_kyc = rng.choice(3, size=n, p=cat.KYC_WEIGHTS)
    state.cl_updated = cal.timestamps(onboarded, rng.integers(8 * 3600, 18 * 3600, size=n))
    state.cl_onboarded = onboarded


def _account_plan(rng: np.random.Generator, state: State) -> tuple[np.ndarray, np.ndarray]:
    """(client, product) pairs: every client a current account, some a savings, card, FX, deposit or loan."""
    n = len(state.cl_segment)
    countries = state.cl_text["country"]
    local = {"CZ": "CZK", "PL": "PLN", "CH": "CHF", "GB": "GBP"}
    seg = state.cl_segment
    primary = np.where((seg >= 1) & (seg <= 2) & (rng.random(n) < 0.7), cat.PRODUCT_INDEX["CA_PREM"],
                       cat.PRODUCT_INDEX["CA_STD"])  # fmt: skip
    for i, c in enumerate(countries):
        if c in local and rng.random() < 0.5:
            primary[i] = cat.PRODUCT_INDEX[cat.FX_PRODUCT[local[c]]]
    pairs_client = [np.arange(n)]
    pairs_product = [primary]
    extras = [("FX", 0.04), ("SAV_FLEX", 0.18), ("CC", 0.14), ("TD_12M", 0.03), ("PL_STD", 0.06), ("MTG_FIX", 0.03)]
    for code, share in extras:
        holders = np.flatnonzero(rng.random(n) < share)
        if code == "FX":
            cur = rng.choice(["USD", "GBP", "CHF", "CZK", "PLN"], size=len(holders), p=[0.5, 0.2, 0.15, 0.1, 0.05])
            prod = np.array([cat.PRODUCT_INDEX[cat.FX_PRODUCT[c]] for c in cur.tolist()], dtype=np.int64)
        elif code == "CC":
            gold = (seg[holders] == 1) | (seg[holders] == 2)
            prod = np.where(gold, cat.PRODUCT_INDEX["CC_GOLD"], cat.PRODUCT_INDEX["CC_CLASSIC"])
        else:
            prod = np.full(len(holders), cat.PRODUCT_INDEX[code])
        pairs_client.append(holders)
        pairs_product.append(prod.astype(np.int64))
    clients = np.concatenate(pairs_client)
    products = np.concatenate(pairs_product)
    order = np.lexsort((np.concatenate([np.zeros(n), np.ones(len(clients) - n)]), clients))
    return clients[order], products[order]


def product_types(products: np.ndarray) -> np.ndarray:
    return np.array([cat.PRODUCTS[p].type for p in products.tolist()], dtype=object)


def new_account_ibans(state: State, clients: np.ndarray, currencies: np.ndarray, first_index: int) -> list[str]:
    countries = []
    for c, cur in zip(clients.tolist(), currencies.tolist(), strict=True):
        code = cat.CURRENCIES[cur]
        if code != "EUR":
            countries.append(cat.IBAN_COUNTRY_BY_CURRENCY[code])
        else:
            home = state.cl_text["country"][c]
            countries.append(home if home in cat.EUR_COUNTRIES else "DE")
    numbers = first_index + np.arange(len(clients), dtype=np.int64) + 1_000_000
    return iban.own_ibans(countries, numbers)


def build_accounts(rng: np.random.Generator, cal: Calendar, state: State) -> None:
    """Accounts with IBAN, product, currency, dates, status, limits, opening balance and activity level."""
    clients, products = _account_plan(rng, state)
    n = len(clients)
    ptype = product_types(products)
    currency = np.array([cat.CURRENCIES.index(cat.PRODUCTS[p].currency) for p in products.tolist()])
    onboarded = state.cl_onboarded
    first_of_client = np.r_[True, clients[1:] != clients[:-1]]
    lo = onboarded[clients]
    opened = np.where(first_of_client, lo, lo + (rng.random(n) * (-1 - lo)).astype(np.int64))
    closable = ~first_of_client & np.isin(ptype, ["savings", "credit_card", "current_account"])
    closed_before = closable & (rng.random(n) < 0.02)
    closed = np.where(closed_before, opened + (rng.random(n) * (-opened)).astype(np.int64), NEVER)
    dormant = ~closed_before & np.isin(ptype, ["current_account", "savings"]) & (rng.random(n) < 0.03)
    status = np.where(closed_before, 2, np.where(dormant, 1, 0))
    seg = state.cl_segment[clients]
    fx = fx_factor(currency)
    credit = np.where(ptype == "credit_card", SEGMENT_CARD_LIMIT_EUR[seg] * 100, -1)
    overdraft = np.where(ptype == "current_account", (SEGMENT_OVERDRAFT_EUR[seg] * fx).round() * 100, -1)
    balance = _opening_balances(rng, ptype, seg, fx, credit)
    balance[closed_before] = 0
    activity = _activity(rng, ptype, seg, first_of_client)
    activity[(status != 0)] = 0.0
    state.acc_client, state.acc_product, state.acc_currency = clients, products, currency
    state.acc_opened, state.acc_closed, state.acc_status = opened, closed, status
    state.acc_credit_limit, state.acc_overdraft = credit.astype(np.int64), overdraft.astype(np.int64)
    state.acc_balance, state.acc_activity = balance, activity
    state.acc_iban = new_account_ibans(state, clients, currency, 0)
    stamp_day = np.where(closed_before, closed, opened)
    state.acc_updated = cal.timestamps(stamp_day, rng.integers(8 * 3600, 18 * 3600, size=n))
    nc = len(state.cl_segment)
    state.cl_primary = np.flatnonzero(first_of_client)[:nc]
    salaried = (state.cl_segment != 3) & (rng.random(nc) < 0.75)
    pay = rng.lognormal(np.log(np.maximum(SEGMENT_SALARY_EUR[state.cl_segment], 1)), 0.3)
    pay_local = pay * fx_factor(currency[state.cl_primary])
    state.cl_salary = np.where(salaried, np.round(pay_local * 100), 0).astype(np.int64)
    state.cl_salary_kind = rng.choice(3, size=nc, p=[0.6, 0.25, 0.15])


def _opening_balances(rng: np.random.Generator, ptype: np.ndarray, seg: np.ndarray, fx: np.ndarray,
                      credit: np.ndarray) -> np.ndarray:  # fmt: skip
    n = len(ptype)
    eur = rng.lognormal(np.log(SEGMENT_BALANCE_EUR[seg]), 0.9)
    eur = np.where(ptype == "savings", eur * 3, eur)
    eur = np.where(ptype == "term_deposit", np.round(rng.uniform(5, 50, n)) * 1000, eur)
    cents = np.round(eur * fx * 100)
    cents = np.where(ptype == "credit_card", -np.round(rng.random(n) * 0.3 * credit), cents)
    cents = np.where(np.isin(ptype, ["personal_loan", "mortgage"]), 0, cents)
    return cents.astype(np.int64)


def _activity(rng: np.random.Generator, ptype: np.ndarray, seg: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Expected transactions per day of each account (salary and card repayments come on top)."""
    base = np.select(
        [ptype == "current_account", ptype == "credit_card", ptype == "savings"],
        [np.where(primary, 0.175, 0.07), 0.26, 0.02],
        0.0,
    )
    return base * rng.gamma(2.0, 0.5, size=len(ptype)) * SEGMENT_ACTIVITY[seg]


def product_rows(day_iso: str) -> list[list[str]]:
    stamp = f"{day_iso}T00:00:00"
    return [[p.code, p.name, p.type, p.currency, p.monthly_fee, p.interest_rate, stamp] for p in cat.PRODUCTS]


def client_rows(state: State, idx: np.ndarray) -> list[list[str]]:
    t = state.cl_text
    rows = []
    for i in idx.tolist():
        rows.append([
            client_id(i), t["first_name"][i], t["last_name"][i], t["birth_date"][i], t["national_id"][i],
            t["email"][i], t["phone"][i], t["street"][i], t["city"][i], t["postal_code"][i], t["country"][i],
            cat.SEGMENTS[state.cl_segment[i]], str(state.cl_risk[i]), cat.KYC[state.cl_kyc[i]],
            t["onboarded_on"][i], state.cl_updated[i],
        ])  # fmt: skip
    return rows


def account_rows(state: State, idx: np.ndarray, cal: Calendar) -> list[list[str]]:
    rows = []
    for i in idx.tolist():
        closed = int(state.acc_closed[i])
        credit, overdraft = int(state.acc_credit_limit[i]), int(state.acc_overdraft[i])
        rows.append([
            account_id(i), client_id(int(state.acc_client[i])), state.acc_iban[i],
            cat.PRODUCTS[state.acc_product[i]].code, cat.CURRENCIES[state.acc_currency[i]],
            cal.iso(int(state.acc_opened[i])), cal.iso(closed) if closed < NEVER else "",
            cat.ACCOUNT_STATUS[state.acc_status[i]], money(credit) if credit >= 0 else "",
            money(overdraft) if overdraft >= 0 else "", state.acc_updated[i],
        ])  # fmt: skip
    return rows


def append_accounts(state: State, clients: np.ndarray, products: np.ndarray, day: int,
                    stamps: list[str]) -> np.ndarray:  # fmt: skip
    """Open new accounts (loan accounts opened with a new loan); returns their indices."""
    first = len(state.acc_client)
    n = len(clients)
    currency = np.array([cat.CURRENCIES.index(cat.PRODUCTS[p].currency) for p in products.tolist()], np.int64)
    state.acc_iban.extend(new_account_ibans(state, clients, currency, first))
    state.acc_client = np.r_[state.acc_client, clients]
    state.acc_product = np.r_[state.acc_product, products]
    state.acc_currency = np.r_[state.acc_currency, currency]
    state.acc_opened = np.r_[state.acc_opened, np.full(n, day)]
    state.acc_closed = np.r_[state.acc_closed, np.full(n, NEVER)]
    state.acc_status = np.r_[state.acc_status, np.zeros(n, np.int64)]
    state.acc_credit_limit = np.r_[state.acc_credit_limit, np.full(n, -1)]
    state.acc_overdraft = np.r_[state.acc_overdraft, np.full(n, -1)]
    state.acc_balance = np.r_[state.acc_balance, np.zeros(n, np.int64)]
    state.acc_activity = np.r_[state.acc_activity, np.zeros(n)]
    state.acc_updated.extend(stamps)
    return np.arange(first, first + n)
