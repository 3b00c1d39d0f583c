"""What a delimited-file source is to the loader: its dialect, and how its deliveries are found and identified.

A `Dialect` says everything that differs between the sources: the raw schema the files land in, the delimiter and
quote character, the encoding (fixed, or detected per file), whether a quoted empty field (`""`) is NULL or an
empty string, the entities and their columns, and how the entity of a file follows from its name. Everything
else (ledger, lock, quarantine, re-delivery rule, result) is the same for every source (see `files_pipeline.py`).

A delivery is known by its plain name and the sha256 of its content: a file delivered gzip-compressed
(`trans.asc.gz`) is read decompressed and known by its plain name (`trans.asc`), so the same content in either form
is one delivery to the ledger.

This module holds the landing-file dialect (`LANDING`); the Czech bank's is in `berka_source.py`.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .contract import ENTITIES, RAW_SCHEMA, EntitySpec


@dataclass(frozen=True)
class Delivery:
    """A delivered file: `name` is the ledger's key (`transactions/2025-01-03.csv`, `trans.asc`)."""

    name: str
    path: Path
    entity: str


@dataclass(frozen=True)
class Dialect:
    """One delimited-file source; `discover(folder)` returns its deliveries and notes on what was ignored."""

    source: str
    schema: str
    delimiter: str
    encoding: str | None  # None: detected per file (see csv_lines.py)
    quoted_empty_is_null: bool
    entities: Mapping[str, EntitySpec]
    discover: Callable[[Path], tuple[list[Delivery], list[str]]]
    quote_char: str = '"'


def delivered_name(path: Path) -> str:
    """The name a file is known by: `trans.asc` for `trans.asc` and for its gzip copy `trans.asc.gz`."""
    return path.name.removesuffix(".gz")


def read_delivered(path: Path) -> bytes:
    """The content of a delivered file, decompressed when it is a `.gz`."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def content_sha256(path: Path) -> str:
    """The sha256 of the (decompressed) content: a plain and a gzip delivery of the same file share it."""
    return hashlib.sha256(read_delivered(path)).hexdigest()


DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.csv$")


def delivery_day_problem(name: str) -> str | None:
    """Why a landing file's name (`transactions/2025-02-31.csv`) names no calendar day, or None (also for names
    that carry no date, such as the Czech bank's `trans.asc`): its rows would have no delivery date."""
    found = re.search(r"(\d{4}-\d{2}-\d{2})\.csv$", name)
    if found is None:
        return None
    try:
        date.fromisoformat(found.group(1))
    except ValueError:
        return f"the file name's delivery date {found.group(1)} is not a calendar day"
    return None


def discover_landing(data_dir: Path) -> tuple[list[Delivery], list[str]]:
    """Every day file (`<entity>/YYYY-MM-DD.csv`) of the contract's folders, and notes on what was ignored."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"landing folder {data_dir} does not exist (run `bankwh generate` first?)")
    found: list[Delivery] = []
    notes: list[str] = []
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        if folder.name not in ENTITIES:
            if any(folder.glob("*.csv")):
                notes.append(f"ignored folder {folder.name}/: not an entity of the source contract")
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            if DAY_FILE.match(path.name):
                found.append(Delivery(f"{folder.name}/{path.name}", path, folder.name))
            else:
                notes.append(f"ignored {folder.name}/{path.name}: landing files are named YYYY-MM-DD.csv")
    return found, notes


#: The core bank's landing CSVs: comma separated, encoding detected per file, empty field = NULL quoted or not.
LANDING = Dialect(
    source="files",
    schema=RAW_SCHEMA,
    delimiter=",",
    encoding=None,
    quoted_empty_is_null=True,
    entities=ENTITIES,
    discover=discover_landing,
)
