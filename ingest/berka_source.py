"""Reading the PKDD'99 Czech bank ("Berka") `.asc` files into Arrow tables, one record per physical line.

The files are semicolon separated, ASCII, CRLF terminated, strings in double quotes, header on line 1. Every value
is kept as text exactly as delivered: a quoted field keeps its content (`""` stays an empty string, `" "` stays a
space), an unquoted empty field (`;;`) becomes NULL, because the file says "nothing here" in two different ways and
the raw layer must not merge them. Lines that cannot be records go to a quarantine list with the reason, so that
lines in = rows + quarantined lines, always.

A file may be delivered plain (`trans.asc`) or gzip-compressed (`trans.asc.gz`, as the project ships them): it is
read decompressed and known by its plain name and the sha256 of its decompressed content, so the same delivery in
either form is one file to the ledger and to staging.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa

#: File stem → raw table name. `order.asc` keeps its name (the table is quoted by the loader).
BERKA_FILES: dict[str, str] = {
    "account": "account",
    "client": "client",
    "disp": "disp",
    "card": "card",
    "loan": "loan",
    "order": "order",
    "district": "district",
    "trans": "trans",
}

#: Rows per Arrow table handed to the loader; trans.asc (~47k lines) arrives in a few chunks.
CHUNK_ROWS = 20_000


class FieldSplitError(ValueError):
    """A line that cannot be split into fields (for example an unclosed quote)."""


@dataclass
class ParsedFile:
    """One `.asc` file read and checked: its header, its records in chunks and its quarantined lines."""

    path: Path
    entity: str
    file_name: str  # the plain name (`trans.asc`) whether delivered plain or gzip-compressed
    content_sha256: str
    header: list[str]
    lines_in: int
    chunks: list[pa.Table] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(chunk.num_rows for chunk in self.chunks)


def split_fields(line: str) -> list[str | None]:
    """Split one line on `;`, honouring double quotes; unquoted empty fields become None.

    A doubled quote inside a quoted field stands for one quote (RFC 4180 style). Text after a closing quote or a
    quote that never closes makes the line unreadable: FieldSplitError says which rule failed.
    """
    fields: list[str | None] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            j = i + 1
            parts: list[str] = []
            while True:
                k = line.find('"', j)
                if k < 0:
                    raise FieldSplitError(f"unclosed quote starting at character {i + 1}")
                parts.append(line[j:k])
                if k + 1 < n and line[k + 1] == '"':
                    parts.append('"')
                    j = k + 2
                    continue
                break
            fields.append("".join(parts))
            i = k + 1
            if i < n and line[i] != ";":
                raise FieldSplitError(f"text after closing quote at character {i + 1}")
        else:
            k = line.find(";", i)
            end = n if k < 0 else k
            value = line[i:end]
            if '"' in value:
                raise FieldSplitError(f"stray quote in unquoted field at character {i + 1}")
            fields.append(value if value else None)
            i = end
        if i >= n:
            return fields
        i += 1  # skip the separator
        if i == n:
            fields.append(None)
            return fields


def _physical_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without terminator); a final terminator does not open an extra empty line."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        yield number, raw[:-1] if raw.endswith(b"\r") else raw


def _chunk_table(header: list[str], rows: list[list[str | None]], meta: dict) -> pa.Table:
    columns = {name: pa.array([row[i] for row in rows], type=pa.string()) for i, name in enumerate(header)}
    count = len(rows)
    columns["_file_name"] = pa.array([meta["file_name"]] * count, type=pa.string())
    columns["_line_number"] = pa.array(meta["line_numbers"], type=pa.int64())
    columns["_loaded_at"] = pa.array([meta["loaded_at"]] * count, type=pa.timestamp("us", tz="UTC"))
    return pa.table(columns)


def delivered_name(path: Path) -> str:
    """The name a file is known by: `trans.asc` for `trans.asc` and for its gzip copy `trans.asc.gz`."""
    return path.name.removesuffix(".gz")


def read_delivered(path: Path) -> bytes:
    """The content of a delivered file, decompressed when it is a `.gz`."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def content_sha256(path: Path) -> str:
    """The sha256 of the decompressed content: a plain and a gzip delivery of the same file share it."""
    return hashlib.sha256(read_delivered(path)).hexdigest()


def parse_file(path: Path, loaded_at: datetime, chunk_rows: int = CHUNK_ROWS) -> ParsedFile:
    """Read one `.asc` or `.asc.gz` file: header from line 1, every later line a record or a quarantine entry.

    A missing or unreadable header is an error for the whole file (its lines could not be named), raised with
    the file name; a bad data line is quarantined with its line number and the rule it broke.
    """
    data = read_delivered(path)
    file_name = delivered_name(path)
    entity = file_name.removesuffix(".asc")
    lines = list(_physical_lines(data))
    if not lines:
        raise ValueError(f"{file_name}: empty file, a header line is required on line 1")
    try:
        header_fields = split_fields(lines[0][1].decode("ascii"))
    except (UnicodeDecodeError, FieldSplitError) as exc:
        raise ValueError(f"{file_name}, line 1: unreadable header ({exc})") from exc
    if any(not name for name in header_fields):
        raise ValueError(f"{file_name}, line 1: header has an empty column name")
    header = [str(name) for name in header_fields]
    if len(set(h.lower() for h in header)) != len(header):
        raise ValueError(f"{file_name}, line 1: header repeats a column name: {header}")

    parsed = ParsedFile(
        path=path,
        entity=entity,
        file_name=file_name,
        content_sha256=hashlib.sha256(data).hexdigest(),
        header=header,
        lines_in=len(lines) - 1,
    )
    rows: list[list[str | None]] = []
    numbers: list[int] = []

    def flush() -> None:
        if rows:
            meta = {"file_name": file_name, "line_numbers": list(numbers), "loaded_at": loaded_at}
            parsed.chunks.append(_chunk_table(header, rows, meta))
            rows.clear()
            numbers.clear()

    for number, raw in lines[1:]:
        reason = None
        try:
            text = raw.decode("ascii")
            values = split_fields(text)
            if len(values) != len(header):
                reason = f"wrong field count: {len(values)} fields, header has {len(header)}"
        except UnicodeDecodeError as exc:
            reason = f"undecodable bytes (ASCII expected): {exc.reason} at byte {exc.start}"
        except FieldSplitError as exc:
            reason = str(exc)
        if reason is not None:
            parsed.quarantine.append(
                {
                    "file_name": file_name,
                    "line_number": number,
                    "raw_line": raw.decode("latin-1"),
                    "reason": reason,
                    "_loaded_at": loaded_at,
                }
            )
            continue
        rows.append(values)
        numbers.append(number)
        if len(rows) >= chunk_rows:
            flush()
    flush()
    return parsed


def _delivered(berka_dir: Path, stem: str) -> list[Path]:
    return [path for path in (berka_dir / f"{stem}.asc", berka_dir / f"{stem}.asc.gz") if path.is_file()]


def holds_berka_files(berka_dir: Path) -> bool:
    """True when the folder holds the Czech bank's transactions, plain or gzip-compressed."""
    return bool(_delivered(Path(berka_dir), "trans"))


def berka_paths(berka_dir: Path) -> list[Path]:
    """The eight files of the data set in a fixed order, each `<stem>.asc` or `<stem>.asc.gz`.

    A missing file is an error naming it. A file present in both forms is read plain when the two hold the same
    content (someone decompressed a copy beside it) and is an error naming it when they differ.
    """
    berka_dir = Path(berka_dir)
    if not berka_dir.is_dir():
        raise FileNotFoundError(f"Berka data folder not found: {berka_dir} (set BANKWH_BERKA_DIR)")
    found = {stem: _delivered(berka_dir, stem) for stem in BERKA_FILES}
    missing = [f"{stem}.asc" for stem, paths in found.items() if not paths]
    if missing:
        raise FileNotFoundError(f"Berka data folder {berka_dir} lacks {', '.join(missing)} (plain or .gz)")
    differ = [
        f"{stem}.asc" for stem, paths in found.items() if len(paths) > 1 and len(set(map(content_sha256, paths))) > 1
    ]
    if differ:
        raise ValueError(
            f"Berka data folder {berka_dir}: {', '.join(differ)} differ from their .gz copies; keep one of each"
        )
    return [paths[0] for paths in found.values()]
