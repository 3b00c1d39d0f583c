"""ECB-style reference rates (units of currency per EUR) for business days: a mean-reverting random walk
around realistic levels. Written to `<out>/../api/fx_rates.csv` for the bank API."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import catalog as cat
from .settings import STREAM_FX, Calendar, rng_for

FX_COLUMNS = ["rate_date", "currency", "rate_per_eur", "published_at"]
DAILY_VOL = {"CZK": 0.003, "USD": 0.005, "GBP": 0.004, "CHF": 0.004, "PLN": 0.004}


def fx_path(out: Path) -> Path:
    return out.resolve().parent / "api" / "fx_rates.csv"


def rates_for_day(seed: int, cal: Calendar, day: int, last: dict[str, float]) -> list[str]:
    """CSV lines of the day's rates (none on weekends); updates `last` in place."""
    if not cal.is_business_day(day):
        return []
    rng = rng_for(seed, day, STREAM_FX)
    lines = []
    iso = cal.iso(day)
    for currency in cat.FX_CURRENCIES:
        base = cat.FX_BASE[currency]
        prev = last.get(currency, base)
        step = 0.02 * (np.log(base) - np.log(prev)) + rng.normal(0, DAILY_VOL[currency])
        rate = float(prev * np.exp(step))
        last[currency] = round(rate, 4)
        lines.append(f"{iso},{currency},{last[currency]:.4f},{iso}T16:00:00")
    return lines


def write_rates(path: Path, lines: list[str], append: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if append and path.exists():
        with path.open("a", encoding="utf-8", newline="\n") as fh:
            fh.writelines(line + "\n" for line in lines)
        return
    path.write_text(",".join(FX_COLUMNS) + "\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
