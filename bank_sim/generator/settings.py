"""Generator settings and the calendar helpers every stage shares (days are integers counted from `start`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np

# Random streams: each (seed, day, stream) triple gets its own generator, so adding a stage or a day never
# shifts the random numbers of another one.
STREAM_ENTITIES = 1
STREAM_TRANSACTIONS = 2
STREAM_FRAUD = 3
STREAM_DEFECTS = 4
STREAM_LOANS = 5
STREAM_CHANGES = 6
STREAM_SURVEYS = 7
STREAM_FX = 8
STREAM_PLAN = 9
STREAM_DROP = 10

CLIENTS_PER_SCALE = 10_000


@dataclass(frozen=True)
class Settings:
    """What a run was asked for; stored in the manifest so a later `--next-day` continues the same bank."""

    scale: float = 0.1
    days: int = 365
    seed: int = 42
    start: str = "2025-01-01"
    defect_rate: float = 0.01
    #: A planted volume drop (an outage at the bank): on `drop_day` (YYYY-MM-DD) this share of the everyday card,
    #: transfer and branch activity does not happen. For the anomaly checks' tests; None plants nothing.
    drop_day: str | None = None
    drop_share: float = 0.6

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"--scale must be positive, got {self.scale}")
        if self.days < 1:
            raise ValueError(f"--days must be at least 1, got {self.days}")
        if not 0 <= self.defect_rate <= 0.5:
            raise ValueError(f"--defect-rate must be between 0 and 0.5, got {self.defect_rate}")
        try:
            dt.date.fromisoformat(self.start)
        except ValueError as exc:
            raise ValueError(f"--start must be a date YYYY-MM-DD, got {self.start!r}") from exc
        if not 0 <= self.drop_share <= 1:
            raise ValueError(f"drop_share must be between 0 and 1, got {self.drop_share}")
        if self.drop_day is not None:
            try:
                dt.date.fromisoformat(self.drop_day)
            except ValueError as exc:
                raise ValueError(f"drop_day must be a date YYYY-MM-DD, got {self.drop_day!r}") from exc

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(self.start)

    @property
    def n_clients(self) -> int:
        return max(20, round(CLIENTS_PER_SCALE * self.scale))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def rng_for(seed: int, day: int, stream: int) -> np.random.Generator:
    """An independent generator per (seed, day, stream); day may be negative for history before `start`."""
    return np.random.default_rng([seed, stream, day + 1_000_000])


class Calendar:
    """Day numbers ↔ ISO strings; the string tables make per-row formatting a list lookup."""

    def __init__(self, start: dt.date, first: int = -40_000, last: int = 40_000) -> None:
        self.start = start
        self.first = first
        base = np.datetime64(start.isoformat(), "D")
        self.np_start = base
        days = base + np.arange(first, last + 1)
        self._iso = np.datetime_as_string(days, unit="D").tolist()
        self._times = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]

    def iso(self, day: int) -> str:
        return self._iso[day - self.first]

    def iso_many(self, days: np.ndarray) -> list[str]:
        table = self._iso
        return [table[d] for d in (days - self.first).tolist()]

    def timestamps(self, days: np.ndarray, secs: np.ndarray) -> list[str]:
        table, times = self._iso, self._times
        return [f"{table[d]}T{times[s]}" for d, s in zip((days - self.first).tolist(), secs.tolist(), strict=True)]

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)

    def day_of(self, date: dt.date) -> int:
        return (date - self.start).days

    def weekday(self, day: int) -> int:
        return self.date(day).weekday()

    def is_business_day(self, day: int) -> bool:
        return self.weekday(day) < 5

    def dom(self, day: int) -> int:
        return self.date(day).day

    def is_month_end(self, day: int) -> bool:
        return self.date(day + 1).day == 1

    def last_business_day_of_month(self, day: int) -> bool:
        """True on the last weekday of the month (salary day for most employers)."""
        if not self.is_business_day(day):
            return False
        probe = day + 1
        while self.date(probe).month == self.date(day).month:
            if self.is_business_day(probe):
                return False
            probe += 1
        return True

    def business_day_on_or_before(self, day: int) -> int:
        while not self.is_business_day(day):
            day -= 1
        return day
