"""Empty raw tables for a source that has never been loaded, so the warehouse builds from one source alone.

Why: the dbt staging of the simulated bank reads `raw_core_banking` and `raw_bank_api`; a warehouse fed only by
the Czech bank (Berka) would fail to build on the missing relations. A source that delivered nothing is a source
with no rows, so its tables are created empty, with the columns the source contract names (every file column
text, the loader's lineage columns with the types dlt gives them). Only a schema that does not exist yet is
created: a schema the loaders already own is never touched, and the loaders later add their own bookkeeping
(dlt adds what its schema needs to the existing tables).
"""

from __future__ import annotations

from .contract import ENTITIES, RAW_SCHEMA
from .ledger import LEDGER_DDL

API_SCHEMA = "raw_bank_api"
LINEAGE_DDL = (
    "_file_name text not null, _line_number bigint not null, _loaded_at timestamptz not null, "
    "_dlt_load_id text not null"
)
QUARANTINE_DDL = (
    f"create table {RAW_SCHEMA}._quarantine (file_name text not null, line_number bigint not null, "
    "raw_line text not null, reason text not null, _loaded_at timestamptz not null, _dlt_load_id text not null)"
)
API_DDL = [
    f"create table {API_SCHEMA}.survey_responses (response_id text not null, client_id text, survey_date date, "
    "channel text, nps_score bigint, csat_score bigint, comment text, answered_at timestamp, _loaded_at timestamptz, "
    "_dlt_load_id text not null, _dlt_id varchar)",
    f"create table {API_SCHEMA}.fx_rates (rate_date date not null, currency text not null, "
    "rate_per_eur double precision, published_at timestamp, _loaded_at timestamptz, _dlt_load_id text not null, "
    "_dlt_id varchar)",
]


def _schema_exists(cur, schema: str) -> bool:
    cur.execute("select 1 from information_schema.schemata where schema_name = %s", (schema,))
    return cur.fetchone() is not None


def core_banking_ddl() -> list[str]:
    """Statements creating the landing-file raw tables of the contract (surveys come from the API)."""
    statements = [f"create schema {RAW_SCHEMA}"]
    for spec in ENTITIES.values():
        if spec.name == "surveys":
            continue
        columns = ", ".join(f"{name} text" for name in spec.columns)
        statements.append(f"create table {RAW_SCHEMA}.{spec.name} ({columns}, {LINEAGE_DDL})")
    statements.append(QUARANTINE_DDL)
    statements.append(LEDGER_DDL)
    return statements


def ensure_raw_tables(wh, log=print) -> list[str]:
    """Create the simulated bank's and the bank API's raw schemas, empty, where they do not exist yet.

    Returns the schemas created (empty when every schema was already there).
    """
    created = []
    with wh.cursor(autocommit=False) as cur:
        if not _schema_exists(cur, RAW_SCHEMA):
            for statement in core_banking_ddl():
                cur.execute(statement)
            created.append(RAW_SCHEMA)
        if not _schema_exists(cur, API_SCHEMA):
            cur.execute(f"create schema {API_SCHEMA}")
            for statement in API_DDL:
                cur.execute(statement)
            created.append(API_SCHEMA)
    if created:
        log(f"raw layer: created empty {', '.join(created)} (no delivery from that source yet)")
    return created
