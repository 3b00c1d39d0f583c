"""Reading a delimited file (a landing CSV, a Czech `.asc` file): decode, judge every line, parse with pyarrow.csv.

Both sources promise one record per physical line, so every line is judged on its own: a broken line (undecodable
bytes, NUL byte, a carriage return inside the line, an unclosed quote or text after a closing quote, wrong field
count) goes to quarantine with a reason naming the rule and never swallows the next line. The lines that pass the
per-line checks are parsed by pyarrow.csv in one call; its `invalid_row_handler` quarantines the lines whose field
count differs from the header's. Why the per-line checks before pyarrow: pyarrow lets an unclosed quote run on
into the following lines (even with `newlines_in_values=False`), takes a bare CR for a line end (which would shift
every later line number) and reads `"ab"c` as `abc`; the quoting of a line holding a quote character is therefore
checked first with the standard library's strict CSV reader, which names the rule broken. Fields keep their text
exactly as delivered; only the quoting is removed. An unquoted empty field is NULL; a quoted empty field (`""`) is
NULL or an empty string as the dialect says. A trailing CR is taken as part of the line ending.

Encoding is decided per file: valid UTF-8 is UTF-8; a file that is not valid UTF-8 and has fewer valid UTF-8
multi-byte lines than invalid ones is a legacy 8-bit export, decoded as Latin-1 (or cp1252 when it uses bytes
0x80-0x9F, which Latin-1 maps to invisible control characters); a mostly-UTF-8 file keeps UTF-8 and quarantines
the lines that are not.
An override names the encoding outright, and lines it cannot decode are quarantined.

Some files are not a delimited text file of the source at all, and each is refused whole with a reason that says
what it is, so the person fixing the export knows what to ask for (`content_problem`, `other_delimiter`): an empty
file; a UTF-16 or UTF-32 file, known by its byte-order mark (or, without one, by every other byte being NUL), which
the exporters never write and which read as single bytes would look like a header of `t\x00r\x00...`; binary
content (NUL bytes throughout); a file delimited by another character than the dialect's. A wide file is decoded
with its own codec for the quarantine, so its lines are counted and readable there. A data line repeating the
header (two exports concatenated) is quarantined as `repeated_header`, rather than loaded as a record every
column of which is invalid.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pacsv

UTF8_BOM = b"\xef\xbb\xbf"
#: Byte-order marks of the wide encodings no source uses, UTF-32 first (its LE mark starts like UTF-16 LE's).
WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE", "utf-32-be"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE", "utf-16-be"),
)
EXPECTED_ENCODINGS = "expected UTF-8 or the legacy single-byte encoding"
#: How much of a file is looked at to tell binary or UTF-16 content from text.
SNIFF_BYTES = 8192
#: Share of control bytes (other than tab, LF and CR) above which a sample holding NUL bytes is binary: a text file
#: with one damaged line has a few, which are quarantined line by line instead.
BINARY_CONTROL_SHARE = 0.05
#: The delimiters a delivery might use instead of its dialect's, named when the header splits on one of them.
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
#: The reason of a data line that repeats the header (it starts the quarantine reason, for grepping).
REPEATED_HEADER = "repeated_header"


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


def wide_bom(data: bytes) -> tuple[str, str] | None:
    """(name, codec) of the UTF-16/UTF-32 byte-order mark the data starts with, or None."""
    for bom, name, codec in WIDE_BOMS:
        if data.startswith(bom):
            return name, codec
    return None


def _bomless_utf16(sample: bytes) -> str | None:
    """ "UTF-16 LE"/"UTF-16 BE" when every other byte of the sample is NUL and the others are not (ASCII text in
    UTF-16 without a byte-order mark), else None."""
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    even_nul, odd_nul = sample[0 : 2 * pairs : 2].count(0) / pairs, sample[1 : 2 * pairs : 2].count(0) / pairs
    if odd_nul > 0.9 and even_nul < 0.1:
        return "UTF-16 LE"
    if even_nul > 0.9 and odd_nul < 0.1:
        return "UTF-16 BE"
    return None


def _binary_reason(sample: bytes) -> str | None:
    """Why the sample is binary (NUL bytes in the header line, or among many control bytes), else None."""
    nul = sample.count(0)
    if not nul:
        return None
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in (0x09, 0x0A, 0x0D))
    if 0 not in sample.split(b"\n", 1)[0] and controls <= BINARY_CONTROL_SHARE * len(sample):
        return None
    return (
        f"binary: NUL bytes ({nul} in the first {len(sample)} bytes, the first at byte {sample.index(0)}); "
        "not a delimited text file"
    )


def content_problem(data: bytes) -> str | None:
    """Why these bytes cannot be read as a delimited text file at all (see the module docstring), or None."""
    if not data:
        return "empty file (0 bytes)"
    bom = wide_bom(data)
    if bom is not None:
        return f"{bom[0]} (byte-order mark); {EXPECTED_ENCODINGS}"
    sample = data[:SNIFF_BYTES]
    wide = _bomless_utf16(sample)
    if wide is not None:
        return (
            f"{wide} (no byte-order mark: every other byte is NUL); expected UTF-8 or the legacy single-byte encoding"
        )
    return _binary_reason(sample)


def other_delimiter(line: str, delimiter: str, quote_char: str, wanted: tuple[str, ...]) -> str | None:
    """The delimiter the header line uses instead of `delimiter`, or None when nothing says so.

    Another candidate is named when the header does not split on the dialect's delimiter but does on it, or when
    only it yields every column in `wanted` (normalised to lower case): a `;` file read as `,` has a one-column
    header, while a header merely missing a column splits on its own delimiter as well as before.
    """
    own = _fields(line, delimiter, quote_char)
    for candidate in CANDIDATE_DELIMITERS:
        if candidate == delimiter or candidate not in line:
            continue
        fields = _fields(line, candidate, quote_char)
        only_it_has_them = bool(wanted) and set(wanted) <= set(fields) and not set(wanted) <= set(own)
        if (len(own) == 1 and len(fields) > 1) or only_it_has_them:
            return candidate
    return None


def _fields(line: str, delimiter: str, quote_char: str) -> list[str]:
    """A line's fields, unquoted, stripped and lower-cased, for comparing headers (never for data)."""
    line = line.removeprefix("\ufeff").removesuffix("\r")
    try:
        fields = next(csv.reader([line], delimiter=delimiter, quotechar=quote_char))
    except csv.Error:
        fields = line.split(delimiter)
    return [field.strip().lower() for field in fields]


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


def decode_wide(data: bytes, codec: str) -> DecodedFile:
    """A UTF-16/UTF-32 file decoded whole with its own codec (its lines split after decoding, where a LF is one
    character, not one byte), so its refusal counts and shows its real lines."""
    text = data.decode(codec, errors="backslashreplace").removeprefix("\ufeff").removesuffix("\n")
    return DecodedFile(encoding=codec, lines=text.split("\n") if text else [])


def decode_file(data: bytes, override: str | None = None) -> DecodedFile:
    """Split and decode a file; lines that the chosen encoding cannot decode are kept escaped and flagged."""
    bom = wide_bom(data)
    if bom is not None:
        return decode_wide(data, bom[1])
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


def parse_header(line: str, file_name: str, delimiter: str = ",", quote_char: str = '"') -> list[str]:
    """Header names as delivered (quoting and surrounding spaces removed); rejects empty or repeated names."""
    if line.endswith("\r"):
        line = line[:-1]
    if not line.strip():
        raise FileRejected(f"{file_name}: line 1 (header) is empty")
    try:
        names = [
            name.strip() for name in next(csv.reader([line], delimiter=delimiter, quotechar=quote_char, strict=True))
        ]
    except csv.Error as exc:
        raise FileRejected(f"{file_name}: line 1 (header): {quoting_reason(exc)}") from exc
    if any(not name for name in names):
        raise FileRejected(f"{file_name}: line 1 (header) has an empty column name: {line!r}")
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise FileRejected(f"{file_name}: line 1 (header) names column {name!r} twice")
        seen.add(name.lower())
    return names


def quoting_reason(exc: csv.Error) -> str:
    message = str(exc)
    if "unexpected end of data" in message:
        return "unclosed quote: a quoted field is not closed before the end of the line"
    return f"malformed quoting: {message}"


@dataclass
class ParsedLines:
    """The data lines of one file: records as an Arrow table of text columns (`c0`, `c1`... in header order) with
    their physical line numbers, and the quarantined lines as (line number, text without line ending, reason)."""

    records: pa.Table
    line_numbers: list[int]
    quarantine: list[tuple[int, str, str]]


def _line_problem(line: str, delimiter: str, quote_char: str, n_fields: int) -> str | None:
    """Why a (decoded, CR-stripped) line cannot be a record, for the rules pyarrow does not check; else None."""
    if "\x00" in line:
        return "NUL byte: a text value cannot hold byte 0x00"
    if "\r" in line:
        return "carriage return inside the line: one record per physical line"
    if not line and n_fields > 1:
        return f"wrong field count: empty line, header has {n_fields}"
    if quote_char in line:
        try:
            next(csv.reader([line], delimiter=delimiter, quotechar=quote_char, strict=True))
        except csv.Error as exc:
            return quoting_reason(exc)
    return None


def _header_signature(header: str, delimiter: str, quote_char: str) -> tuple[tuple[str, ...], list[str]]:
    """(prefixes, names): a data line repeats the header when it starts with one of the prefixes (a cheap test
    for the millions of lines that do not) and its fields are the header's names, whatever the case, quoting or
    BOM. No prefixes for an empty header, so that nothing matches."""
    names = _fields(header, delimiter, quote_char)
    first = header.removeprefix("\ufeff").split(delimiter, 1)[0].strip()
    if not first:
        return (), names
    bare = first.strip(quote_char)
    variants = {bare, f"{quote_char}{bare}{quote_char}"}
    return (*variants, *(v.upper() for v in variants), *(v.lower() for v in variants), "\ufeff"), names


def parse_lines(
    decoded: DecodedFile, n_fields: int, delimiter: str, quote_char: str, quoted_empty_is_null: bool
) -> ParsedLines:
    """Judge and parse every data line (physical line 2 onwards) of a decoded file; see the module docstring."""
    quarantine: list[tuple[int, str, str]] = []
    kept: list[str] = []
    kept_numbers: list[int] = []
    undecodable = decoded.undecodable
    prefixes, names = _header_signature(decoded.lines[0] if decoded.lines else "", delimiter, quote_char)
    for index in range(1, len(decoded.lines)):
        text = decoded.lines[index]
        line = text[:-1] if text.endswith("\r") else text
        reason = undecodable.get(index) or _line_problem(line, delimiter, quote_char, n_fields)
        if reason is None and line.startswith(prefixes) and _fields(line, delimiter, quote_char) == names:
            reason = f"{REPEATED_HEADER}: the line repeats the header (line 1); two exports concatenated?"
        if reason is None:
            kept.append(line)
            kept_numbers.append(index + 1)
        else:
            quarantine.append((index + 1, line.replace("\x00", "\\x00"), reason))

    rejected: set[int] = set()

    def wrong_field_count(row) -> str:
        # row.number counts the lines handed to pyarrow from 1 (pyarrow reads them single-threaded, so it is known)
        position = row.number - 1
        rejected.add(position)
        reason = f"wrong field count: {row.actual_columns} fields, header has {row.expected_columns}"
        quarantine.append((kept_numbers[position], kept[position], reason))
        return "skip"

    names = [f"c{i}" for i in range(n_fields)]
    if kept:
        records = pacsv.read_csv(
            pa.py_buffer("\n".join(kept).encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 26),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=quote_char,
                double_quote=True,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=wrong_field_count,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=quoted_empty_is_null,
            ),
        )
    else:
        records = pa.table({name: pa.array([], pa.string()) for name in names})
    line_numbers = [n for i, n in enumerate(kept_numbers) if i not in rejected] if rejected else kept_numbers
    if records.num_rows != len(line_numbers):
        raise RuntimeError(f"pyarrow returned {records.num_rows} records for {len(line_numbers)} lines")
    quarantine.sort()
    return ParsedLines(records=records, line_numbers=line_numbers, quarantine=quarantine)
