"""The API's backing data: the survey landing files and the FX rate file, typed and reloaded when they change.

The generator keeps appending days while the API runs, so every request first compares the files' (name, size,
mtime) signature with the one it loaded and reloads on any difference. A final line without its LF is a line the
generator is still writing (the contract says every line ends with LF): it is left out until it is complete, so a
client never sees half a record. Rows of a file must not show up in pieces otherwise, because a client that already
read a later timestamp would never ask for an earlier one again: the generator writes each delivery file whole.
A value that breaks the contract raises `DataError` naming file, line and rule.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

SURVEY_COLUMNS = (
    "response_id",
    "client_id",
    "survey_date",
    "channel",
    "nps_score",
    "csat_score",
    "comment",
    "answered_at",
)
FX_COLUMNS = ("rate_date", "currency", "rate_per_eur", "published_at")

Record = dict[str, Any]
Signature = tuple[tuple[str, int, int], ...]


class DataError(ValueError):
    """A backing file breaks the source contract; the message names the file, the line and the rule."""


@dataclass(frozen=True)
class Table:
    """Rows sorted by `keys` (the API's order), with the sort keys kept apart for bisecting."""

    rows: list[Record]
    keys: list[tuple[str, ...]]


def _optional_int(value: str, where: str, column: str) -> int | None:
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise DataError(f"{where}: {column} {value!r} is not an integer") from None


def _timestamp(value: str, where: str, column: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DataError(f"{where}: {column} {value!r} is not an ISO timestamp YYYY-MM-DDTHH:MM:SS") from None
    if parsed.tzinfo is not None:
        raise DataError(f"{where}: {column} {value!r} carries an offset; bank time has none")
    return parsed.isoformat(timespec="seconds")


def _date(value: str, where: str, column: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise DataError(f"{where}: {column} {value!r} is not an ISO date YYYY-MM-DD") from None


def _required(value: str, where: str, column: str) -> str:
    if value == "":
        raise DataError(f"{where}: {column} is empty but mandatory")
    return value


def survey_record(row: dict[str, str], where: str) -> Record:
    """One survey line as the API delivers it: ids and texts as strings, scores as integers."""
    return {
        "response_id": _required(row["response_id"], where, "response_id"),
        "client_id": _required(row["client_id"], where, "client_id"),
        "survey_date": _date(row["survey_date"], where, "survey_date"),
        "channel": row["channel"] or None,
        "nps_score": _optional_int(row["nps_score"], where, "nps_score"),
        "csat_score": _optional_int(row["csat_score"], where, "csat_score"),
        "comment": row["comment"] or None,
        "answered_at": _timestamp(row["answered_at"], where, "answered_at"),
    }


def fx_record(row: dict[str, str], where: str) -> Record:
    """One FX line as the API delivers it: the rate as a number (1 EUR = rate units of currency)."""
    raw_rate = _required(row["rate_per_eur"], where, "rate_per_eur")
    try:
        rate = float(raw_rate)
    except ValueError:
        raise DataError(f"{where}: rate_per_eur {raw_rate!r} is not a decimal number") from None
    if rate <= 0:
        raise DataError(f"{where}: rate_per_eur {raw_rate!r} must be positive")
    return {
        "rate_date": _date(row["rate_date"], where, "rate_date"),
        "currency": _required(row["currency"], where, "currency"),
        "rate_per_eur": rate,
        "published_at": _timestamp(row["published_at"], where, "published_at"),
    }


def read_records(
    path: Path, label: str, columns: tuple[str, ...], make: Callable[[dict[str, str], str], Record]
) -> list[Record]:
    """Typed records of one CSV file; `label` is how messages name the file (e.g. `surveys/2025-01-03.csv`)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{label} line {line}: not valid UTF-8 ({exc.reason})") from None
    if text and not text.endswith("\n"):
        # The last line is still being written: serve it once its LF has arrived.
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return []
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{label} line 1: header lacks column(s) {', '.join(missing)}")
    records = []
    for line_number, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise DataError(f"{label} line {line_number}: {len(values)} fields where the header has {len(header)}")
        records.append(make(dict(zip(header, values, strict=True)), f"{label} line {line_number}"))
    return records


def _signature(paths: list[Path]) -> Signature:
    stats = []
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:  # removed between listing and stat: the next request sees the new listing
            continue
        stats.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(stats)


@dataclass
class ReloadingTable:
    """A table built from a set of files, rebuilt whenever their signature changes (thread-safe)."""

    list_files: Callable[[], list[Path]]
    build: Callable[[list[Path]], Table]
    name: str
    log: Callable[[str], None] = field(default=lambda _message: None)
    _signature: Signature | None = field(default=None, init=False)
    _table: Table = field(default_factory=lambda: Table([], []), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def current(self) -> Table:
        files = self.list_files()
        signature = _signature(files)
        with self._lock:
            if signature != self._signature:
                self._table = self.build(files)
                self._signature = signature
                self.log(f"loaded {len(self._table.rows)} {self.name} rows from {len(files)} file(s)")
            return self._table


def _survey_table(root: Path) -> Callable[[list[Path]], Table]:
    def build(files: list[Path]) -> Table:
        rows: list[Record] = []
        seen: dict[str, str] = {}
        for path in files:
            label = path.relative_to(root).as_posix()
            for record in read_records(path, label, SURVEY_COLUMNS, survey_record):
                if record["response_id"] in seen:
                    raise DataError(
                        f"{label}: response_id {record['response_id']} already delivered in "
                        f"{seen[record['response_id']]} (primary key must be unique)"
                    )
                seen[record["response_id"]] = label
                rows.append(record)
        rows.sort(key=lambda r: (r["answered_at"], r["response_id"]))
        return Table(rows, [(r["answered_at"], r["response_id"]) for r in rows])

    return build


def _fx_table(root: Path) -> Callable[[list[Path]], Table]:
    def build(files: list[Path]) -> Table:
        rows: list[Record] = []
        seen: set[tuple[str, str]] = set()
        for path in files:
            label = path.relative_to(root).as_posix()
            for record in read_records(path, label, FX_COLUMNS, fx_record):
                key = (record["rate_date"], record["currency"])
                if key in seen:
                    raise DataError(f"{label}: rate for {key[1]} on {key[0]} delivered twice")
                seen.add(key)
                rows.append(record)
        # Publication order first: rows appended later land on later pages, earlier pages stay stable.
        rows.sort(key=lambda r: (r["published_at"], r["rate_date"], r["currency"]))
        return Table(rows, [(r["published_at"], r["rate_date"], r["currency"]) for r in rows])

    return build


def survey_table(data_dir: Path, log: Callable[[str], None]) -> ReloadingTable:
    """Survey responses from `<data>/raw/surveys/*.csv`."""
    folder = data_dir / "raw" / "surveys"
    return ReloadingTable(lambda: sorted(folder.glob("*.csv")), _survey_table(data_dir / "raw"), "survey response", log)


def fx_table(data_dir: Path, log: Callable[[str], None]) -> ReloadingTable:
    """FX rates from `<data>/api/fx_rates.csv`."""
    path = data_dir / "api" / "fx_rates.csv"
    return ReloadingTable(lambda: [path] if path.exists() else [], _fx_table(data_dir), "fx rate", log)
