"""dlt resources for the landing files: one resource per entity folder, Arrow tables of text columns, plus quarantine.

Why every raw table is keyed by (`_file_name`, `_line_number`) and not by the business key:
the raw layer must hold every delivered line (lines in = rows in raw + rows quarantined). A merge on the business
key would silently collapse the exact-duplicate lines the export contains and could not hold a row whose key is
empty, so counts would no longer prove that nothing was lost. The physical position of a line is a key that every
line has and no two lines share. Entity snapshots (products, clients, accounts, loans) use `merge` on that key, so
loading a file again replaces its rows instead of doubling them; event tables (transactions, balances...) use
`append`, the fast path. Exactly-once for both comes from the file ledger (see `ledger.py`). dbt staging picks the
latest version per business key (by `updated_at`, then file and line).

Every file column lands as text, exactly as delivered (quoting removed, empty field = NULL); the loader adds
`_file_name`, `_line_number`, `_loaded_at` and `_dlt_load_id` (the id of dlt's load package). A column that is not
in the contract lands too (dlt adds it to the table) and is reported as a schema change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .contract import ENTITIES, LINEAGE_COLUMNS, EntitySpec
from .csv_lines import FileRejected, decode_file, judge_lines, parse_header
from .ledger import QUARANTINE_TABLE

#: Rows per Arrow table handed to dlt; large files stream in chunks of this size.
CHUNK_ROWS = 50_000
RAW_KEY = ("_file_name", "_line_number")

LINEAGE_HINTS = {
    "_file_name": {"data_type": "text", "nullable": False},
    "_line_number": {"data_type": "bigint", "nullable": False},
    "_loaded_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
    "_dlt_load_id": {"data_type": "text", "nullable": False},
}
QUARANTINE_HINTS = {
    "file_name": {"data_type": "text", "nullable": False},
    "line_number": {"data_type": "bigint", "nullable": False},
    "raw_line": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "_loaded_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
    "_dlt_load_id": {"data_type": "text", "nullable": False},
}
LOADED_AT_TYPE = pa.timestamp("us", tz="UTC")
LINEAGE_FIELDS = [
    pa.field("_file_name", pa.string(), nullable=False),
    pa.field("_line_number", pa.int64(), nullable=False),
    pa.field("_loaded_at", LOADED_AT_TYPE, nullable=False),
    pa.field("_dlt_load_id", pa.string(), nullable=False),
]
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("line_number", pa.int64(), nullable=False),
        pa.field("raw_line", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("_loaded_at", LOADED_AT_TYPE, nullable=False),
        pa.field("_dlt_load_id", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class PlannedFile:
    """A landing file chosen for loading: `name` is `<entity>/<date>.csv`, the key of the ledger."""

    name: str
    path: Path
    entity: str
    sha256: str
    encoding_override: str | None = None


@dataclass
class FileStats:
    """What extraction saw in one file; filled while dlt pulls the file's rows."""

    name: str
    entity: str
    sha256: str
    encoding: str = ""
    lines_in: int = 0
    rows: int = 0
    quarantined: int = 0
    new_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    seconds: float = 0.0
    error: str | None = None
    done: bool = False
    quarantine: list[tuple[int, str, str]] = field(default_factory=list)


def normalize_names(names: list[str], file_name: str) -> list[str]:
    """Header names in the form dlt gives them in the warehouse; two names that collapse into one are rejected."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    naming = NamingConvention()
    normalized = [naming.normalize_identifier(name) for name in names]
    seen: dict[str, str] = {}
    for raw, norm in zip(names, normalized, strict=True):
        if norm in seen:
            raise FileRejected(f"{file_name}: header columns {seen[norm]!r} and {raw!r} both become column {norm!r}")
        if norm in LINEAGE_COLUMNS:
            raise FileRejected(f"{file_name}: header column {raw!r} clashes with the loader's lineage column {norm!r}")
        seen[norm] = raw
    return normalized


def check_header(spec: EntitySpec, columns: list[str], file_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(new columns, missing optional columns) of a header; a missing mandatory column rejects the file."""
    missing_mandatory = [c for c in spec.mandatory if c not in columns]
    if missing_mandatory:
        names = ", ".join(missing_mandatory)
        raise FileRejected(
            f"{file_name}: mandatory column {names} missing from the header (line 1 has: {', '.join(columns)}); "
            "the file was not loaded"
        )
    new = tuple(c for c in columns if c not in spec.columns)
    missing = tuple(c for c in spec.columns if c not in columns)
    return new, missing


def _text_array(values: tuple[str, ...] | list[str]) -> pa.Array:
    array = pa.array(values, type=pa.string())
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def current_load_id() -> str:
    """The id of the load package being extracted (set as `_dlt_load_id` here, so dlt's normalize step can hand
    the CSV files on as they are instead of rewriting every row to add the column)."""
    import dlt

    return dlt.current.load_package_state()["load_id"]


def records_table(
    columns: list[str],
    rows: list[list[str]],
    line_numbers: list[int],
    file_name: str,
    loaded_at: datetime,
    load_id: str,
) -> pa.Table:
    """One chunk of records as an Arrow table: file columns as text, then the lineage columns."""
    n = len(rows)
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    arrays = [_text_array(values) for values in by_column]
    arrays += [
        pa.array([file_name] * n, type=pa.string()),
        pa.array(line_numbers, type=pa.int64()),
        pa.array([loaded_at] * n, type=LOADED_AT_TYPE),
        pa.array([load_id] * n, type=pa.string()),
    ]
    schema = pa.schema([pa.field(c, pa.string()) for c in columns] + LINEAGE_FIELDS)
    return pa.Table.from_arrays(arrays, schema=schema)


def read_file(
    planned: PlannedFile, stats: FileStats, loaded_at: datetime, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pa.Table]:
    """Arrow chunks of one file's records; quarantined lines and counts go to `stats`.

    A file-level problem (bad header, missing mandatory column) is recorded in `stats.error` and nothing of the
    file is yielded, so the other files of the run still load.
    """
    started = time.perf_counter()
    load_id = current_load_id()
    spec = ENTITIES[planned.entity]
    try:
        decoded = decode_file(planned.path.read_bytes(), planned.encoding_override)
        stats.encoding = decoded.encoding
        if not decoded.lines:
            raise FileRejected(f"{planned.name}: the file is empty (no header line)")
        if 0 in decoded.undecodable:
            raise FileRejected(f"{planned.name}: line 1 (header): {decoded.undecodable[0]}")
        columns = normalize_names(parse_header(decoded.lines[0], planned.name), planned.name)
        stats.new_columns, stats.missing_columns = check_header(spec, columns, planned.name)
    except (FileRejected, ValueError) as exc:
        stats.error = str(exc)
        stats.done = True
        stats.seconds = time.perf_counter() - started
        return
    stats.lines_in = decoded.data_lines
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    for judged in judge_lines(decoded, len(columns)):
        if judged.fields is None:
            stats.quarantine.append((judged.line_number, judged.text, judged.reason))
            continue
        rows.append(judged.fields)
        line_numbers.append(judged.line_number)
        if len(rows) >= chunk_rows:
            stats.rows += len(rows)
            yield records_table(columns, rows, line_numbers, planned.name, loaded_at, load_id)
            rows, line_numbers = [], []
    if rows:
        stats.rows += len(rows)
        yield records_table(columns, rows, line_numbers, planned.name, loaded_at, load_id)
    stats.quarantined = len(stats.quarantine)
    stats.seconds = time.perf_counter() - started
    stats.done = True


def quarantine_table(stats: list[FileStats], loaded_at: datetime, load_id: str) -> pa.Table | None:
    rows = [(s.name, n, text, reason) for s in stats for n, text, reason in s.quarantine]
    if not rows:
        return None
    names, numbers, texts, reasons = zip(*rows, strict=True)
    return pa.Table.from_arrays(
        schema=QUARANTINE_SCHEMA,
        arrays=[
            pa.array(names, pa.string()),
            pa.array(numbers, pa.int64()),
            pa.array(texts, pa.string()),
            pa.array(reasons, pa.string()),
            pa.array([loaded_at] * len(rows), LOADED_AT_TYPE),
            pa.array([load_id] * len(rows), pa.string()),
        ],
    )


def landing_resources(
    files: list[PlannedFile],
    stats: dict[str, FileStats],
    loaded_at: datetime,
    on_file_done: Callable[[FileStats], None] = lambda s: None,
    chunk_rows: int = CHUNK_ROWS,
) -> list:
    """One resource per entity with files to load, then `_quarantine` (extract must run them in this order).

    The quarantine resource is listed last and dlt is told to extract resources first-in-first-out, because the
    quarantined lines are only known once every file has been read; it refuses to run early rather than drop lines.
    """
    import dlt

    by_entity: dict[str, list[PlannedFile]] = {}
    for planned in files:
        by_entity.setdefault(planned.entity, []).append(planned)

    def entity_rows(planned_files: list[PlannedFile]) -> Iterator[pa.Table]:
        for planned in planned_files:
            yield from read_file(planned, stats[planned.name], loaded_at, chunk_rows)
            on_file_done(stats[planned.name])

    def quarantined() -> Iterator[pa.Table]:
        unfinished = [s.name for s in stats.values() if not s.done]
        if unfinished:
            raise RuntimeError(f"quarantine extracted before these files were read: {', '.join(unfinished)}")
        table = quarantine_table([s for s in stats.values() if s.error is None], loaded_at, current_load_id())
        if table is not None:
            yield table

    resources = [
        dlt.resource(
            entity_rows(planned_files),
            name=entity,
            write_disposition="merge" if ENTITIES[entity].kind == "entity" else "append",
            primary_key=RAW_KEY,
            columns=LINEAGE_HINTS,
        )
        for entity, planned_files in by_entity.items()
    ]
    resources.append(
        dlt.resource(quarantined(), name=QUARANTINE_TABLE, write_disposition="append", columns=QUARANTINE_HINTS)
    )
    return resources
