"""A day of account activity: card spending by merchant category, transfers, debits, salaries, card
repayments and fraud bursts, drawn in bulk for all accounts at once."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import catalog as cat
from .entities import fx_factor
from .settings import Calendar
from .state import State

CH = cat.CH
# Channel mix per account role: personal current, sme current, secondary current, credit card, savings.
ROLE_MIX = np.array([
    [0.42, 0.15, 0.08, 0.06, 0.12, 0.11, 0.04, 0.0, 0.02],
    [0.15, 0.10, 0.02, 0.30, 0.25, 0.12, 0.04, 0.0, 0.02],
    [0.30, 0.30, 0.00, 0.20, 0.20, 0.00, 0.00, 0.0, 0.00],
    [0.60, 0.40, 0.00, 0.00, 0.00, 0.00, 0.00, 0.0, 0.00],
    [0.00, 0.00, 0.00, 0.60, 0.40, 0.00, 0.00, 0.0, 0.00],
])  # fmt: skip
ROLE_CUM = np.cumsum(ROLE_MIX, axis=1) / ROLE_MIX.sum(axis=1, keepdims=True)
# (median EUR, sigma, sign) of non-card channels; sme transfers in are larger (customer payments).
CHANNEL_AMOUNT = {
    "transfer_in": (200.0, 1.0, 1),
    "transfer_out": (150.0, 1.0, -1),
    "direct_debit": (80.0, 0.8, -1),
    "standing_order": (450.0, 0.5, -1),
    "branch": (300.0, 0.8, -1),
}
WEEKDAY_FACTOR = np.array([0.95, 0.95, 1.0, 1.05, 1.25, 1.05, 0.55]) / (6.8 / 7)
MCC_CODES = [m.mcc for m in cat.MERCHANT_CATEGORIES]
MCC_MEDIAN = np.array([m.median_eur for m in cat.MERCHANT_CATEGORIES])
MCC_SIGMA = np.array([m.sigma for m in cat.MERCHANT_CATEGORIES])
POS_P = np.array([m.pos_weight for m in cat.MERCHANT_CATEGORIES]) / sum(m.pos_weight for m in cat.MERCHANT_CATEGORIES)
ONLINE_P = np.array([m.online_weight for m in cat.MERCHANT_CATEGORIES])
ONLINE_P = ONLINE_P / ONLINE_P.sum()


@dataclass
class TxBatch:
    """Transactions of one day as parallel arrays (amounts in cents of the account currency)."""

    acct: np.ndarray
    secs: np.ndarray
    amount: np.ndarray
    channel: np.ndarray
    mcc: np.ndarray
    merchant: np.ndarray
    cp: np.ndarray
    desc: np.ndarray
    foreign: np.ndarray
    fraud: np.ndarray  # fraud_type, "" for genuine activity
    flagged: np.ndarray  # genuine activity the monitoring flagged (later labelled "genuine")

    def __len__(self) -> int:
        return len(self.acct)


def empty_batch() -> TxBatch:
    obj = np.zeros(0, dtype=object)
    ints = np.zeros(0, np.int64)
    return TxBatch(ints, ints, ints, ints, obj, obj, obj, obj, np.zeros(0, bool), obj, np.zeros(0, bool))


def make_batch(acct: np.ndarray, secs: np.ndarray, amount: np.ndarray, channel: np.ndarray,
               **text: np.ndarray) -> TxBatch:  # fmt: skip
    n = len(acct)
    blank = np.full(n, "", dtype=object)
    return TxBatch(
        acct.astype(np.int64), secs.astype(np.int64), amount.astype(np.int64), channel.astype(np.int64),
        text.get("mcc", blank), text.get("merchant", blank), text.get("cp", blank),
        text.get("desc", np.array([cat.DESCRIPTIONS[cat.CHANNELS[c]] for c in channel.tolist()], dtype=object)),
        text.get("foreign", np.zeros(n, bool)), text.get("fraud", blank), text.get("flagged", np.zeros(n, bool)),
    )  # fmt: skip


def concat(batches: list[TxBatch]) -> TxBatch:
    return TxBatch(*[np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(TxBatch)])


def subset(batch: TxBatch, idx: np.ndarray) -> TxBatch:
    return TxBatch(*[getattr(batch, f.name)[idx] for f in fields(TxBatch)])


def day_factor(cal: Calendar, day: int) -> float:
    """Fridays busy, Sundays quiet, more spending around month end (salary) and in December."""
    date = cal.date(day)
    factor = WEEKDAY_FACTOR[date.weekday()]
    if date.day >= 27 or date.day <= 2:
        factor *= 1.2
    if date.month == 12:
        factor *= 1.1
    return float(factor)


def account_roles(state: State) -> np.ndarray:
    """Role of each account for the channel mix (-1: no own activity, e.g. loans and term deposits)."""
    ptype = np.array([cat.PRODUCTS[p].type for p in range(len(cat.PRODUCTS))])[state.acc_product]
    primary = np.zeros(len(state.acc_client), bool)
    primary[state.cl_primary] = True
    sme = state.cl_segment[state.acc_client] == 3
    return np.select(
        [primary & ~sme, primary & sme, ptype == "current_account", ptype == "credit_card", ptype == "savings"],
        [0, 1, 2, 3, 4],
        -1,
    )


def open_accounts(state: State, day: int) -> np.ndarray:
    return (state.acc_status != 2) & (state.acc_opened <= day) & (state.acc_closed > day)


def seconds(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Time of day by channel: shops by day, online into the evening, debits in the night batch."""
    n = len(channel)
    hour = np.clip(rng.normal(13.5, 3.5, n), 6, 22.99)
    hour = np.where(channel == CH["card_online"], rng.uniform(7, 23.99, n), hour)
    hour = np.where(np.isin(channel, [CH["transfer_in"], CH["transfer_out"]]), rng.uniform(7, 20, n), hour)
    hour = np.where(np.isin(channel, [CH["direct_debit"], CH["standing_order"]]), rng.uniform(2, 6, n), hour)
    hour = np.where(channel == CH["branch"], rng.uniform(9, 17, n), hour)
    return (hour * 3600).astype(np.int64)


def card_details(rng: np.random.Generator, channel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mcc, merchant, EUR amount) of card transactions; ATMs pay out round notes."""
    n = len(channel)
    online = channel == CH["card_online"]
    cat_idx = np.where(online, rng.choice(len(MCC_CODES), n, p=ONLINE_P), rng.choice(len(MCC_CODES), n, p=POS_P))
    eur = rng.lognormal(np.log(MCC_MEDIAN[cat_idx]), MCC_SIGMA[cat_idx])
    pick = rng.random(n)
    merchant = np.array(
        [cat.MERCHANT_CATEGORIES[c].merchants[int(u * len(cat.MERCHANT_CATEGORIES[c].merchants))]
         for c, u in zip(cat_idx.tolist(), pick.tolist(), strict=True)],
        dtype=object,
    )  # fmt: skip
    mcc = np.array(MCC_CODES, dtype=object)[cat_idx] if n else np.zeros(0, dtype=object)
    atm = channel == CH["atm"]
    eur = np.where(atm, rng.choice(cat.ATM_AMOUNTS, n, p=cat.ATM_WEIGHTS), eur)
    mcc = np.where(atm, cat.ATM_MCC, mcc)
    merchant = np.where(atm, "ATM", merchant)
    return mcc, merchant, eur


def regular(rng: np.random.Generator, state: State, cal: Calendar, day: int, roles: np.ndarray) -> TxBatch:
    """Everyday activity: Poisson counts per account, channel by role, amounts by channel or merchant."""
    active = np.flatnonzero(open_accounts(state, day) & (roles >= 0) & (state.acc_status == 0))
    counts = rng.poisson(state.acc_activity[active] * day_factor(cal, day))
    acct = np.repeat(active, counts)
    n = len(acct)
    cum = ROLE_CUM[roles[acct]]
    channel = (rng.random(n)[:, None] > cum).sum(axis=1)
    channel = np.minimum(channel, len(cat.CHANNELS) - 1)
    if not cal.is_business_day(day):
        keep = ~np.isin(channel, [CH["direct_debit"], CH["standing_order"]])
        acct, channel, n = acct[keep], channel[keep], int(keep.sum())
    mcc, merchant, eur = card_details(rng, channel)
    is_card = np.isin(channel, cat.CARD_CHANNELS)
    sme = state.cl_segment[state.acc_client[acct]] == 3
    sign = np.where(is_card, -1, 0)
    for name, (median, sigma, direction) in CHANNEL_AMOUNT.items():
        rows = channel == CH[name]
        scale = np.where(sme & (name == "transfer_in"), 8.0, 1.0)
        eur = np.where(rows, rng.lognormal(np.log(median), sigma, n) * scale, eur)
        sign = np.where(rows, direction, sign)
    sign = np.where((channel == CH["branch"]) & (rng.random(n) < 0.5), 1, sign)
    cents = sign * np.maximum(np.round(eur * fx_factor(state.acc_currency[acct]) * 100), 1)
    payee = rng.integers(0, len(state.payees), n)
    cp = np.where(is_card | (channel == CH["branch"]), "", np.array(state.payees, dtype=object)[payee])
    mcc = np.where(is_card, mcc, "")
    merchant = np.where(is_card, merchant, "")
    foreign = is_card & (channel != CH["atm"]) & (rng.random(n) < 0.04)
    flagged = is_card & (rng.random(n) < np.where(eur > 3 * MCC_MEDIAN.mean(), 0.02, 0.001))
    return make_batch(acct, seconds(rng, channel), cents, channel, mcc=mcc, merchant=merchant, cp=cp,
                      foreign=foreign, flagged=flagged)  # fmt: skip


def salary_today(cal: Calendar, day: int) -> list[int]:
    """Salary kinds paid today: 0 last business day, 1 the 25th, 2 the 15th (earlier if a weekend)."""
    kinds = []
    if cal.last_business_day_of_month(day):
        kinds.append(0)
    for kind, dom in ((1, 25), (2, 15)):
        target = cal.day_of(cal.date(day).replace(day=dom))
        if cal.business_day_on_or_before(target) == day:
            kinds.append(kind)
    return kinds


def salaries(rng: np.random.Generator, state: State, cal: Calendar, day: int) -> TxBatch:
    kinds = salary_today(cal, day)
    if not kinds:
        return empty_batch()
    clients = np.flatnonzero(np.isin(state.cl_salary_kind, kinds) & (state.cl_salary > 0))
    acct = state.cl_primary[clients]
    ok = open_accounts(state, day)[acct] & (state.acc_status[acct] == 0)
    clients, acct = clients[ok], acct[ok]
    employer = np.array(state.payees, dtype=object)[(clients * 7) % len(state.payees)]
    month = cal.date(day).strftime("%B %Y")
    secs = 6 * 3600 + rng.integers(0, 3600, len(acct))
    return make_batch(acct, secs, state.cl_salary[clients], np.full(len(acct), CH["salary"]), cp=employer,
                      desc=np.full(len(acct), f"Salary {month}", dtype=object))  # fmt: skip


def card_repayments(rng: np.random.Generator, state: State, cal: Calendar, day: int, roles: np.ndarray) -> TxBatch:
    """On the 5th, card debt is settled from the client's current account (in full or 30 %)."""
    if cal.dom(day) != 5:
        return empty_batch()
    cards = np.flatnonzero((roles == 3) & open_accounts(state, day) & (state.acc_balance < 0))
    debt = -state.acc_balance[cards]
    amount = np.where(rng.random(len(cards)) < 0.7, debt, np.maximum(np.round(debt * 0.3), 1))
    source = state.cl_primary[state.acc_client[cards]]
    eur_source = (state.acc_currency[source] == 0) & open_accounts(state, day)[source]
    secs = 5 * 3600 + rng.integers(0, 1800, len(cards))
    iban = np.array(state.acc_iban, dtype=object)
    card_side = make_batch(
        cards,
        secs,
        amount,
        np.full(len(cards), CH["transfer_in"]),
        cp=np.where(eur_source, iban[source], ""),
        desc=np.full(len(cards), "Card repayment"),
    )
    s = eur_source
    account_side = make_batch(source[s], secs[s], -amount[s], np.full(int(s.sum()), CH["transfer_out"]),
                              cp=iban[cards[s]], desc=np.full(int(s.sum()), "Card repayment"))  # fmt: skip
    return concat([card_side, account_side])


def fraud(rng: np.random.Generator, state: State, cal: Calendar, day: int, roles: np.ndarray,
          fresh_ibans: list[str]) -> TxBatch:  # fmt: skip
    """Fraud bursts: card-not-present sprees at night, skimmed cards at ATMs and shops, account takeovers
    draining a current account to a new IBAN; amounts well above the victim's usual spending."""
    victims_pool = np.flatnonzero(np.isin(roles, [0, 3]) & open_accounts(state, day) & (state.acc_status == 0))
    n_events = rng.poisson(len(state.cl_segment) * 0.00012)
    if n_events == 0 or len(victims_pool) == 0:
        return empty_batch()
    victims = rng.choice(victims_pool, n_events)
    kind = rng.choice(3, n_events, p=[0.55, 0.25, 0.2])
    kind = np.where((kind == 2) & (roles[victims] != 0), 0, kind)
    size = np.where(kind == 0, rng.integers(2, 7, n_events), np.where(kind == 1, rng.integers(2, 5, n_events), 1))
    acct = np.repeat(victims, size)
    k = np.repeat(kind, size)
    n = len(acct)
    start = np.repeat(rng.integers(0, 5 * 3600, n_events), size)
    secs = np.minimum(start + rng.integers(0, 3600, n), 86_399)
    channel = np.select([k == 0, k == 1], [CH["card_online"], CH["atm"]], CH["transfer_out"])
    mcc_idx = rng.choice(len(cat.ONLINE_FRAUD_MCCS), n)
    mcc = np.select([k == 0, k == 1], [np.array(cat.ONLINE_FRAUD_MCCS, dtype=object)[mcc_idx], cat.ATM_MCC], "")
    names = {"5732": "TechWorld", "5969": "ShopDirect Online", "4511": "SkyWings Airlines"}
    merchant = np.array([names.get(m, "ATM" if m == cat.ATM_MCC else "") for m in mcc.tolist()], dtype=object)
    eur = np.select(
        [k == 0, k == 1],
        [rng.lognormal(np.log(320), 0.6, n), rng.choice([300, 400, 500], n)],
        rng.lognormal(np.log(2500), 0.5, n),
    )
    cents = -np.maximum(np.round(eur * fx_factor(state.acc_currency[acct]) * 100), 1)
    cp = np.where(k == 2, np.array(fresh_ibans[:n] + [""] * max(0, n - len(fresh_ibans)), dtype=object), "")
    types = np.array(["card_not_present", "card_skimming", "account_takeover"], dtype=object)[k]
    return make_batch(acct, secs, cents, channel, mcc=mcc, merchant=merchant, cp=cp, fraud=types)
