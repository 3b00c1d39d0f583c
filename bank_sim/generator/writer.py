"""Writing landing files: CSV lines (one record per physical line, LF, `"` quoting) and their manifest entry."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .entities import money


def to_lines(rows: list[list[str]]) -> list[str]:
    """CSV-encode rows; fields never contain line breaks, so each record is exactly one line."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    return text.split("\n")[:-1] if text else []


def write_lines(path: Path, columns: list[str], lines: list[str], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ",".join(columns) + "\n" + "".join(line + "\n" for line in lines)
    path.write_bytes(body.encode(encoding))


def entry(entity: str, columns: list[str], lines: int, rows_valid: int, amount_cents: int | None = None,
          amount_column: str | None = None, encoding: str = "utf-8",
          defects: dict[str, int] | None = None) -> dict[str, object]:  # fmt: skip
    """The manifest record of one file: what an independent reader must find when it counts the file."""
    record: dict[str, object] = {
        "entity": entity,
        "lines": lines,
        "rows_valid": rows_valid,
        "encoding": encoding,
        "columns": list(columns),
        "defects": {k: v for k, v in sorted((defects or {}).items()) if v},
    }
    if amount_column is not None:
        record["amount_column"] = amount_column
        record["amount_sum"] = money(amount_cents or 0)
    return record


def write_entity(out: Path, entity: str, day_iso: str, columns: list[str], rows: list[list[str]],
                 manifest_files: dict[str, dict[str, object]], amount_column: str | None = None) -> None:  # fmt: skip
    """Write a defect-free file and record it (amounts summed from `amount_column`)."""
    lines = to_lines(rows)
    rel = f"{entity}/{day_iso}.csv"
    write_lines(out / rel, columns, lines)
    cents = None
    if amount_column is not None:
        col = columns.index(amount_column)
        cents = sum(to_cents(r[col]) for r in rows)
    manifest_files[rel] = entry(entity, columns, len(lines), len(rows), cents, amount_column)


def to_cents(text: str) -> int:
    """'-12.50' -> -1250 (the generator only writes two decimals)."""
    negative = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    cents = int(whole) * 100 + int((frac + "00")[:2])
    return -cents if negative else cents
