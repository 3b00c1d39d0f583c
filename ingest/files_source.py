"""dlt resources for delimited files: one resource per entity with files to load, Arrow tables of text columns,
plus `_quarantine`. The same for every source; what differs is in the file's `Dialect` (see `dialect.py`).

Why every raw table is keyed by (`_file_name`, `_line_number`) and not by the business key:
the raw layer must hold every delivered line (lines in = rows in raw + rows quarantined). A merge on the business
key would silently collapse the exact-duplicate lines the export contains and could not hold a row whose key is
empty, so counts would no longer prove that nothing was lost. The physical position of a line is a key that every
line has and no two lines share. Every table is appended to (the fast path); exactly-once per file, and the
replacement of a changed re-delivery, come from the file ledger (see `ledger.py`): the raw layer holds one load
per file. dbt staging picks the latest version per business key where a source versions its rows.

Every file column lands as text, exactly as delivered (quoting removed, empty field = NULL, see `csv_lines.py`);
the loader adds `_file_name`, `_line_number`, `_loaded_at` and `_dlt_load_id` (the id of dlt's load package). A
column that is not in the contract lands too (dlt adds it to the table) and is reported as a schema change. A file
that cannot be loaded (empty, UTF-16/UTF-32, binary, another delimiter, no header, a mandatory column missing...) is
quarantined whole: every data line goes to `_quarantine` with the file's reason, which names what the file is
(`judge_header`), so whoever fixes the export knows what to ask for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from .contract import LINEAGE_COLUMNS, EntitySpec
from .csv_lines import (
    DecodedFile,
    FileRejected,
    content_problem,
    decode_file,
    other_delimiter,
    parse_header,
    parse_lines,
)
from .dialect import Delivery, Dialect, delivery_day_problem, read_delivered
from .ledger import QUARANTINE_TABLE

#: Rows per Arrow table handed to dlt; large files stream in chunks of this size.
CHUNK_ROWS = 50_000

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
    """A delivered file chosen for loading, with its content's sha256 and the encoding to read it with (None:
    detect)."""

    delivery: Delivery
    sha256: str
    encoding: str | None = None

    @property
    def name(self) -> str:
        return self.delivery.name

    @property
    def entity(self) -> str:
        return self.delivery.entity


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
    #: why the whole file was quarantined; None when its lines were judged one by one
    rejected_reason: str | None = None
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


def current_load_id() -> str:
    """The id of the load package being extracted (set as `_dlt_load_id` here, so dlt's normalize step can hand
    the CSV files on as they are instead of rewriting every row to add the column)."""
    import dlt

    return dlt.current.load_package_state()["load_id"]


def with_lineage(records: pa.Table, columns: list[str], line_numbers: list[int], file_name: str, loaded_at: datetime,
                 load_id: str) -> pa.Table:  # fmt: skip
    """The file's records (text columns `c0`...) named by the header, then the lineage columns."""
    n = records.num_rows
    arrays = [*records.columns]
    arrays += [
        pa.array([file_name] * n, type=pa.string()),
        pa.array(line_numbers, type=pa.int64()),
        pa.array([loaded_at] * n, type=LOADED_AT_TYPE),
        pa.array([load_id] * n, type=pa.string()),
    ]
    schema = pa.schema([pa.field(c, pa.string()) for c in columns] + LINEAGE_FIELDS)
    return pa.Table.from_arrays(arrays, schema=schema)


def _reject_whole(stats: FileStats, lines: list[str], reason: str) -> None:
    """Quarantine every data line of a file that cannot be loaded, with the file's reason (NUL bytes, which a
    PostgreSQL text cannot hold, shown escaped)."""
    stats.rejected_reason = reason
    stats.lines_in = max(len(lines) - 1, 0)
    stats.rows = 0
    stats.quarantine = [
        (index + 1, lines[index].removesuffix("\r").replace("\x00", "\\x00"), f"file quarantined whole: {reason}")
        for index in range(1, len(lines))
    ]
    stats.quarantined = len(stats.quarantine)


def judge_header(data: bytes, decoded: DecodedFile, spec: EntitySpec, dialect: Dialect, name: str) -> list[str]:
    """The file's normalised column names; FileRejected naming why the file as a whole cannot be loaded.

    The content is judged before the header (empty, a wide encoding, binary), and a header that does not fit is
    checked for another delimiter, so the reason names what is wrong with the file rather than a missing column.
    """
    problem = content_problem(data) or delivery_day_problem(name)
    if problem is not None:
        raise FileRejected(f"{name}: {problem}")
    if not decoded.lines:
        raise FileRejected(f"{name}: the file is empty (no header line)")
    if 0 in decoded.undecodable:
        raise FileRejected(f"{name}: line 1 (header): {decoded.undecodable[0]}")
    try:
        header = parse_header(decoded.lines[0], name, dialect.delimiter, dialect.quote_char)
        columns = normalize_names(header, name)
        check_header(spec, columns, name)
    except FileRejected:
        found = other_delimiter(decoded.lines[0], dialect.delimiter, dialect.quote_char, spec.mandatory)
        if found is not None:
            raise FileRejected(f"{name}: delimited by {found!r} not {dialect.delimiter!r}") from None
        raise
    return columns


def read_file(
    planned: PlannedFile, dialect: Dialect, stats: FileStats, loaded_at: datetime, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pa.Table]:
    """Arrow chunks of one file's records; quarantined lines and counts go to `stats`.

    A file-level problem (bad header, missing mandatory column) quarantines the whole file with the reason in
    `stats.rejected_reason`, and nothing of the file is yielded, so the other files of the run still load.
    """
    started = time.perf_counter()
    load_id = current_load_id()
    spec = dialect.entities[planned.entity]
    data = read_delivered(planned.delivery.path)
    decoded = decode_file(data, planned.encoding)
    stats.encoding = decoded.encoding
    try:
        columns = judge_header(data, decoded, spec, dialect, planned.name)
        stats.new_columns, stats.missing_columns = check_header(spec, columns, planned.name)
    except FileRejected as exc:
        _reject_whole(stats, decoded.lines, str(exc))
    else:
        parsed = parse_lines(decoded, len(columns), dialect.delimiter, dialect.quote_char, dialect.quoted_empty_is_null)
        stats.lines_in = decoded.data_lines
        stats.quarantine = parsed.quarantine
        stats.quarantined = len(parsed.quarantine)
        stats.rows = parsed.records.num_rows
        for offset in range(0, parsed.records.num_rows, chunk_rows):
            records = parsed.records.slice(offset, chunk_rows)
            numbers = parsed.line_numbers[offset : offset + chunk_rows]
            yield with_lineage(records, columns, numbers, planned.name, loaded_at, load_id)
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


def file_resources(
    files: list[PlannedFile],
    dialect: Dialect,
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
            yield from read_file(planned, dialect, stats[planned.name], loaded_at, chunk_rows)
            on_file_done(stats[planned.name])

    def quarantined() -> Iterator[pa.Table]:
        unfinished = [s.name for s in stats.values() if not s.done]
        if unfinished:
            raise RuntimeError(f"quarantine extracted before these files were read: {', '.join(unfinished)}")
        table = quarantine_table(list(stats.values()), loaded_at, current_load_id())
        if table is not None:
            yield table

    resources = [
        dlt.resource(
            entity_rows(planned_files),
            name=entity,
            write_disposition="append",
            columns=LINEAGE_HINTS,
        )
        for entity, planned_files in by_entity.items()
    ]
    resources.append(
        dlt.resource(quarantined(), name=QUARANTINE_TABLE, write_disposition="append", columns=QUARANTINE_HINTS)
    )
    return resources
