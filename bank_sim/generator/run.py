"""Entry points: `generate` writes a whole period, `next_day` appends one day to an existing folder."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import catalog as cat
from . import entities, fx, iban, loans, manifest
from .day import Context, simulate_day
from .settings import STREAM_ENTITIES, STREAM_LOANS, STREAM_PLAN, Calendar, Settings, rng_for
from .state import STATE_FILE, State, load, save

ENTITIES = ["products", "clients", "accounts", "loans", "loan_schedules", "loan_payments", "transactions",
            "balances", "postings", "fraud_labels", "surveys"]  # fmt: skip
Log = Callable[[str], None]


@dataclass
class GenerateResult:
    out: Path
    manifest: dict
    seconds: float
    bytes: int


def initial_state(settings: Settings, cal: Calendar) -> tuple[State, loans.Schedule]:
    """The bank on the eve of `start`: clients, accounts, counterparties and the loans already running."""
    rng = rng_for(settings.seed, -1, STREAM_ENTITIES)
    state = State(settings=settings.as_dict())
    entities.build_clients(rng, settings.n_clients, cal, state)
    entities.build_accounts(rng, cal, state)
    n_payees = 500 + round(5000 * settings.scale)
    countries = rng.choice([*cat.EUR_COUNTRIES, "ES", "IT", "CZ", "PL", "GB"], n_payees,
                           p=[0.3, 0.15, 0.1, 0.08, 0.08, 0.08, 0.08, 0.05, 0.04, 0.04])  # fmt: skip
    state.payees = iban.random_ibans(rng, countries.tolist())
    ptype = entities.product_types(state.acc_product)
    loan_acc = np.flatnonzero(np.isin(ptype, ["personal_loan", "mortgage"]))
    start = np.maximum(state.acc_opened[loan_acc], -1000)
    state.acc_opened[loan_acc] = start
    rng_l = rng_for(settings.seed, -1, STREAM_LOANS)
    stamps = cal.timestamps(start, rng_l.integers(8 * 3600, 18 * 3600, len(loan_acc)))
    sched = loans.originate(rng_l, cal, state, state.acc_client[loan_acc], loan_acc, state.acc_product[loan_acc],
                            start, stamps)  # fmt: skip
    return state, sched


def _clean(out: Path) -> None:
    """Remove a previous run's files (only the generator's own folders and files)."""
    for name in ENTITIES:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in (manifest.MANIFEST, STATE_FILE):
        (out / name).unlink(missing_ok=True)


def folder_bytes(out: Path) -> int:
    total = sum(p.stat().st_size for p in out.rglob("*.csv"))
    path = fx.fx_path(out)
    return total + (path.stat().st_size if path.exists() else 0)


def _progress(ctx: Context, day: int, started: float, log: Log) -> None:
    if ctx.cal.date(day + 1).day == 1 or day == ctx.last_day:
        st = ctx.stats
        log(f"  {ctx.cal.date(day):%Y-%m}: {st['transactions']:,} transactions, {st['balances']:,} balances, "
            f"{st['postings']:,} postings, {st['loan_payments']:,} loan payments so far "
            f"({time.perf_counter() - started:.1f} s)")  # fmt: skip


def _extra(ctx: Context) -> dict[str, object]:
    state = ctx.state
    return {
        "clients": len(state.cl_segment),
        "accounts": len(state.acc_client),
        "loans": len(state.loan_client),
        "last_day": ctx.cal.iso(state.last_day),
        "api_fx_rates": "../api/fx_rates.csv",
    }


def generate(settings: Settings, out: Path, log: Log = print) -> GenerateResult:
    """Write `settings.days` days of landing files into `out` (replacing an earlier run there)."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    _clean(out)
    cal = Calendar(settings.start_date)
    state, sched = initial_state(settings, cal)
    log(f"entities: {len(state.cl_segment):,} clients, {len(state.acc_client):,} accounts, "
        f"{len(state.loan_client):,} loans ({time.perf_counter() - started:.1f} s)")  # fmt: skip
    plan = rng_for(settings.seed, -1, STREAM_PLAN)
    days = settings.days
    latin1_day = int(plan.integers(1, days)) if days > 1 else -1
    pool = [d for d in range(1, days) if d != latin1_day]
    extra_days = plan.choice(pool, min(len(pool), max(1, days // 50)), replace=False) if pool else []
    ctx = Context(settings, out, cal, state, days - 1, {}, latin1_day, frozenset(int(d) for d in extra_days), sched)
    first_fx = cal.business_day_on_or_before(0)
    for day in range(first_fx, 0):
        ctx.fx_lines += fx.rates_for_day(settings.seed, cal, day, state.fx_last)
    for day in range(days):
        simulate_day(ctx, day)
        ctx.fx_lines += fx.rates_for_day(settings.seed, cal, day, state.fx_last)
        _progress(ctx, day, started, log)
    fx.write_rates(fx.fx_path(out), ctx.fx_lines, append=False)
    result = _finish(ctx, started, settings.as_dict())
    log(_summary("generated", result, ctx))
    return result


def next_day(out: Path, log: Log = print) -> GenerateResult:
    """Append the day after the last generated one (transactions, changes, loans, labels, FX) to `out`."""
    started = time.perf_counter()
    previous = manifest.load(out)
    state = load(out)
    known = {k: previous["generator"][k] for k in ("scale", "days", "seed", "start", "defect_rate")}
    settings = Settings(**known)
    cal = Calendar(settings.start_date)
    day = state.last_day + 1
    extra = frozenset([day]) if rng_for(settings.seed, day, STREAM_PLAN).random() < 0.02 else frozenset()
    ctx = Context(settings, out, cal, state, day, previous["files"], -1, extra)
    simulate_day(ctx, day)
    lines = fx.rates_for_day(settings.seed, cal, day, state.fx_last)
    fx.write_rates(fx.fx_path(out), lines, append=True)
    generator = {**previous["generator"], "days": day + 1, "next_days": previous["generator"].get("next_days", 0) + 1}
    result = _finish(ctx, started, generator)
    log(_summary(f"appended {cal.iso(day)}:", result, ctx))
    return result


def _finish(ctx: Context, started: float, generator: dict) -> GenerateResult:
    generator = {**generator, "last_day": ctx.cal.iso(ctx.state.last_day)}
    data = manifest.write(ctx.out, generator, ctx.files, _extra(ctx))
    save(ctx.state, ctx.out)
    return GenerateResult(ctx.out, data, time.perf_counter() - started, folder_bytes(ctx.out))


def _summary(verb: str, result: GenerateResult, ctx: Context) -> str:
    st = ctx.stats
    n_defects = sum(result.manifest["totals"]["defects"].values())
    return (f"{verb} {result.out}: {len(ctx.files):,} files, {result.bytes / 1e6:.1f} MB, "
            f"{st['transactions']:,} transactions, {st['balances']:,} balances, {st['postings']:,} postings, "
            f"{n_defects:,} defects in total, in {result.seconds:.1f} s")  # fmt: skip
