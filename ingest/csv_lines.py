"""Reading a landing file line by line: decode, split into fields, and say why a line cannot be a record.

The contract promises one record per physical line, so every line is judged on its own: a broken line (unclosed
quote, wrong field count, undecodable bytes, NUL byte) goes to quarantine with a reason naming the rule and never
swallows the next line. Fields keep their text exactly as delivered; only the CSV quoting is removed, and an empty
field becomes NULL (the contract: "empty field = no value"). A trailing CR is taken as part of the line ending.

Encoding is decided per file: valid UTF-8 is UTF-8; a file that is not valid UTF-8 and has fewer valid UTF-8
multi-byte lines than invalid ones is a legacy 8-bit export, decoded as Latin-1 (or cp1252 when it uses bytes
0x80-0x9F, which Latin-1 maps to invisible control characters); a mostly-UTF-8 file keeps UTF-8 and quarantines
the lines that are not.
An override names the encoding outright, and lines it cannot decode are quarantined.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

UTF8_BOM = b"\xef\xbb\xbf"


class FileRejected(ValueError):
    """The file as a whole cannot be loaded (no header, bad header, missing mandatory column...)."""


@dataclass
class DecodedFile:
    """A file split into physical lines (line 1 = header) with the encoding that was used to read it."""

    encoding: str
    lines: list[str]
    #: index in `lines` → reason, for lines that could not be decoded (their text shows the bytes escaped)
    undecodable: dict[int, str] = field(default_factory=dict)

    @property
    def data_lines(self) -> int:
        return max(len(self.lines) - 1, 0)


def split_physical_lines(data: bytes) -> list[bytes]:
    """Lines separated by LF; a final LF ends the last line rather than starting an empty one."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data:
        return []
    if data.endswith(b"\n"):
        data = data[:-1]
    return data.split(b"\n")


def _legacy_encoding(raw_lines: list[bytes]) -> str:
    """Latin-1 unless the file uses 0x80-0x9F, where cp1252 has the printable characters (€, ‚, Œ...)."""
    if not any(any(0x80 <= b <= 0x9F for b in line) for line in raw_lines if not line.isascii()):
        return "latin-1"
    try:
        for line in raw_lines:
            line.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def detect_encoding(raw_lines: list[bytes]) -> str:
    """The encoding of a file given as lines (see the module docstring for the rule)."""
    invalid = 0
    utf8_text = 0
    for line in raw_lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_text += 1
        except UnicodeDecodeError:
            invalid += 1
    if invalid == 0 or utf8_text >= invalid:
        return "utf-8"
    return _legacy_encoding(raw_lines)


def check_encoding_name(name: str) -> str:
    """The canonical codec name, or a clear error for a name Python does not know."""
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise ValueError(f"unknown encoding {name!r} (use a Python codec name such as utf-8, latin-1, cp1252)") from exc


def decode_file(data: bytes, override: str | None = None) -> DecodedFile:
    """Split and decode a file; lines that the chosen encoding cannot decode are kept escaped and flagged."""
    raw_lines = split_physical_lines(data)
    encoding = check_encoding_name(override) if override else detect_encoding(raw_lines)
    if data.startswith(UTF8_BOM) and encoding == "utf-8":
        encoding = "utf-8-sig"
    lines: list[str] = []
    undecodable: dict[int, str] = {}
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    for index, line in enumerate(raw_lines):
        try:
            lines.append(line.decode(codec))
        except UnicodeDecodeError as exc:
            lines.append(line.decode(codec, errors="backslashreplace"))
            undecodable[index] = (
                f"undecodable bytes: byte 0x{line[exc.start]:02x} at position {exc.start} is not valid {encoding}"
            )
    return DecodedFile(encoding=encoding, lines=lines, undecodable=undecodable)


def split_line(line: str) -> list[str]:
    """Fields of one line with CSV quoting removed; raises csv.Error for broken quoting."""
    if '"' not in line:
        return line.split(",")
    return next(csv.reader([line], strict=True))


def quoting_reason(exc: csv.Error) -> str:
    message = str(exc)
    if "unexpected end of data" in message:
        return "unclosed quote: a quoted field is not closed before the end of the line"
    return f"malformed quoting: {message}"


def parse_header(line: str, file_name: str) -> list[str]:
    """Header names as delivered (surrounding spaces removed); rejects empty or repeated names."""
    if line.endswith("\r"):
        line = line[:-1]
    if not line.strip():
        raise FileRejected(f"{file_name}: line 1 (header) is empty")
    try:
        names = [name.strip() for name in split_line(line)]
    except csv.Error as exc:
        raise FileRejected(f"{file_name}: line 1 (header): {quoting_reason(exc)}") from exc
    if any(not name for name in names):
        raise FileRejected(f"{file_name}: line 1 (header) has an empty column name: {line!r}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise FileRejected(f"{file_name}: line 1 (header) names column {name!r} twice")
        seen.add(name)
    return names


class Judged(NamedTuple):
    """One data line: its fields when it is a record, else the quarantine reason."""

    line_number: int
    fields: list[str] | None
    reason: str | None
    text: str


def judge_lines(decoded: DecodedFile, n_fields: int) -> Iterator[Judged]:
    """Every data line (physical line 2 onwards) judged as record or quarantine, in file order."""
    undecodable = decoded.undecodable
    for index in range(1, len(decoded.lines)):
        text = decoded.lines[index]
        line_number = index + 1
        # fast path: the common clean line (no quote, no CR, no NUL) is a plain split
        if '"' not in text and "\r" not in text and "\x00" not in text and index not in undecodable:
            fields = text.split(",")
            if len(fields) == n_fields:
                yield Judged(line_number, fields, None, text)
                continue
        if index in undecodable:
            yield Judged(line_number, None, decoded.undecodable[index], text)
            continue
        line = text[:-1] if text.endswith("\r") else text
        if "\x00" in line:
            yield Judged(
                line_number, None, "NUL byte: a text value cannot hold byte 0x00", text.replace("\x00", "\\x00")
            )
            continue
        if not line and n_fields > 1:
            yield Judged(line_number, None, f"wrong field count: empty line, header has {n_fields}", text)
            continue
        try:
            fields = split_line(line)
        except csv.Error as exc:
            yield Judged(line_number, None, quoting_reason(exc), text)
            continue
        if len(fields) != n_fields:
            reason = f"wrong field count: {len(fields)} fields, header has {n_fields}"
            yield Judged(line_number, None, reason, text)
            continue
        yield Judged(line_number, fields, None, text)
