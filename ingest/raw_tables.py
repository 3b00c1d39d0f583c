"""Every raw table of the source contract exists, empty until its source delivers rows for it.

Why: dbt staging reads every table of `raw_core_banking`, `raw_berka` and `raw_bank_api` straight from its source,
but dlt creates a table only when a load carries rows for it. A tiny bank with no fraud labels yet, a delivery
without a single broken line (no `_quarantine`), an API with no survey answers yet, a warehouse fed by the Czech
bank alone or one that never loaded the Czech bank would fail the build on a missing relation. A source that
delivered nothing for a table is a table with no rows, so the missing tables are created empty, in the shape dlt
gives them when it creates them itself: the same column names, order, types and nullability, derived here from
the very hints the loaders hand to dlt. dlt then finds the table in
place on the first real delivery and only adds what its schema needs (a new file column, say).

Tables that exist are never touched, whoever created them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from psycopg2 import sql

from .contract import BERKA_ENTITIES, BERKA_SCHEMA, ENTITIES, RAW_SCHEMA
from .ledger import QUARANTINE_TABLE, ensure_ledger

API_SCHEMA = "raw_bank_api"
#: Arbitrary constant naming the "create missing raw tables" advisory lock: two ingests never race on a create.
ADVISORY_LOCK_KEY = 7_310_452_002
#: Columns dlt adds to every row it merges (the API tables): the load package id and a unique row id.
DLT_ROW_HINTS: dict[str, dict[str, Any]] = {
    "_dlt_load_id": {"data_type": "text", "nullable": False},
    "_dlt_id": {"data_type": "text", "nullable": False, "unique": True},
}


def postgres_type(hint: Mapping[str, Any]) -> str:
    """The PostgreSQL type dlt's postgres destination gives a column with this dlt hint."""
    data_type = hint["data_type"]
    if data_type == "timestamp":
        return "timestamp with time zone" if hint.get("timezone", True) else "timestamp without time zone"
    types = {"text": "varchar", "bigint": "bigint", "date": "date", "double": "double precision"}
    if data_type not in types:
        raise ValueError(f"no PostgreSQL type known for dlt data type {data_type!r}")
    return types[data_type]


def contract_tables() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(schema, table) → columns in table order (dlt hints) of every raw table the loaders fill with dlt."""
    from .api_source import FX_COLUMNS, SURVEY_COLUMNS
    from .files_source import LINEAGE_HINTS, QUARANTINE_HINTS

    tables: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for schema, entities in ((RAW_SCHEMA, ENTITIES), (BERKA_SCHEMA, BERKA_ENTITIES)):
        for spec in entities.values():
            # every delivered column lands as text, then the loader's lineage columns (see files_source.py)
            columns = {name: {"data_type": "text", "nullable": True} for name in spec.columns}
            tables[(schema, spec.name)] = {**columns, **LINEAGE_HINTS}
        tables[(schema, QUARANTINE_TABLE)] = dict(QUARANTINE_HINTS)
    tables[(API_SCHEMA, "survey_responses")] = {**SURVEY_COLUMNS, **DLT_ROW_HINTS}
    tables[(API_SCHEMA, "fx_rates")] = {**FX_COLUMNS, **DLT_ROW_HINTS}
    return tables


def create_table_sql(schema: str, table: str, columns: Mapping[str, Mapping[str, Any]]) -> sql.Composed:
    # a unique column gets its constraint inline, as dlt writes it (index `<table>_<column>_key`)
    definitions = [
        sql.SQL("{} {}{}{}").format(
            sql.Identifier(name),
            sql.SQL(postgres_type(hint)),
            sql.SQL(" unique" if hint.get("unique") else ""),
            sql.SQL("" if hint.get("nullable", True) else " not null"),
        )
        for name, hint in columns.items()
    ]
    return sql.SQL("create table if not exists {}.{} ({})").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(definitions)
    )


def ensure_raw_tables(wh, log: Callable[[str], None] = print) -> list[str]:
    """Create every raw table of the contracts that does not exist yet (empty), plus the file ledgers.

    Returns the tables created, as `schema.table` (empty when every table was already there). Safe to call at
    any time: existing tables, their rows and the columns dlt added to them are left as they are.
    """
    created = []
    with wh.cursor(autocommit=False) as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
        for schema in (RAW_SCHEMA, BERKA_SCHEMA):
            ensure_ledger(cur, schema)  # creates the schema too
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(API_SCHEMA)))
        for (schema, table), columns in contract_tables().items():
            cur.execute("select to_regclass(%s)", (f'"{schema}"."{table}"',))
            if cur.fetchone()[0] is None:
                cur.execute(create_table_sql(schema, table, columns))
                created.append(f"{schema}.{table}")
    if created:
        by_schema: dict[str, list[str]] = {}
        for name in created:
            schema, table = name.split(".")
            by_schema.setdefault(schema, []).append(table)
        listed = "; ".join(f"{schema}: {', '.join(tables)}" for schema, tables in by_schema.items())
        log(f"raw layer: created {len(created)} empty table(s), nothing delivered for them yet ({listed})")
    return created
