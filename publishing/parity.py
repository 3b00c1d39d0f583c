"""Parity of a Delta table with its PostgreSQL mart: row counts, per-month counts and sums of numeric columns.

Why a separate read-back: the export's own bookkeeping could be wrong in the same way as the export; reading the
published Delta version with `DeltaTable.to_pyarrow_table` checks what a consumer would actually see.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.pg_arrow import Column, prepare_session, quote_ident

PARITY_FILE = "_parity.jsonl"
FLOAT_REL_TOLERANCE = 1e-9


def _pg_totals(conn, schema: str, mart: str, numeric: list[Column]) -> tuple[int, dict[str, Any]]:
    sums = ", ".join(f"sum({c.select_expr})" for c in numeric)
    sql = f"select count(*){', ' + sums if sums else ''} from {quote_ident(schema)}.{quote_ident(mart)}"
    with conn.cursor() as cur:
        prepare_session(cur)
        cur.execute(sql)
        row = cur.fetchone()
    return int(row[0]), {c.name: row[i + 1] for i, c in enumerate(numeric)}


def _same(pg_value: Any, delta_value: Any, arrow_type: pa.DataType) -> bool:
    if pg_value is None or delta_value is None:
        return pg_value is None and delta_value is None
    if pa.types.is_floating(arrow_type):
        a, b = float(pg_value), float(delta_value)
        return abs(a - b) <= FLOAT_REL_TOLERANCE * max(1.0, abs(a), abs(b))
    return Decimal(str(pg_value)) == Decimal(str(delta_value))


def check_parity(
    conn,
    schema: str,
    mart: str,
    columns: list[Column],
    table_path: Path,
    pg_month_counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Compare the latest Delta version of `mart` with PostgreSQL; the result names every mismatch."""
    from deltalake import DeltaTable

    dt = DeltaTable(str(table_path))
    numeric = [c for c in columns if c.is_numeric]
    read_cols = [c.name for c in numeric] or [columns[0].name]
    if pg_month_counts is not None:
        read_cols.append("month")
    table = dt.to_pyarrow_table(columns=read_cols)
    pg_rows, pg_sums = _pg_totals(conn, schema, mart, numeric)

    mismatches: list[str] = []
    if pg_rows != table.num_rows:
        mismatches.append(f"rows: postgres {pg_rows}, delta {table.num_rows}")
    sums: dict[str, dict[str, str | None]] = {}
    for col in numeric:
        delta_sum = pc.sum(table[col.name]).as_py() if table.num_rows else None
        pg_sum = pg_sums[col.name]
        sums[col.name] = {
            "postgres": None if pg_sum is None else str(pg_sum),
            "delta": None if delta_sum is None else str(delta_sum),
        }
        if not _same(pg_sum, delta_sum, col.arrow_type):
            mismatches.append(f"sum({col.name}): postgres {pg_sum}, delta {delta_sum}")
    if pg_month_counts is not None:
        counts = pc.value_counts(table["month"]).to_pylist() if table.num_rows else []
        delta_months = {(d["values"] if d["values"] is not None else "__null__"): d["counts"] for d in counts}
        for month in sorted(set(delta_months) | set(pg_month_counts)):
            if delta_months.get(month, 0) != pg_month_counts.get(month, 0):
                mismatches.append(
                    f"rows of month {month}: postgres {pg_month_counts.get(month, 0)}, "
                    f"delta {delta_months.get(month, 0)}"
                )
    return {
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mart": mart,
        "version": dt.version(),
        "ok": not mismatches,
        "rows_postgres": pg_rows,
        "rows_delta": table.num_rows,
        "sums": sums,
        "mismatches": mismatches,
    }


def record(root: Path, results: list[dict[str, Any]]) -> Path:
    """Append parity results to `<root>/_parity.jsonl` (one JSON object per mart and export)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / PARITY_FILE
    with path.open("a", encoding="utf-8") as fh:
        for result in results:
            fh.write(json.dumps(result, sort_keys=True) + "\n")
    return path
