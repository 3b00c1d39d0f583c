"""A data subject's erasure request: one client's personal values overwritten in the raw layer, in one transaction.

Why raw and only raw: every later layer is derived from it (staging views, intermediate and mart tables rebuilt by
dbt, Delta exported from the marts), and the snapshots hold no personal data (loan schedules, Czech loans). Once raw
holds no personal value of the client, `bankwh run --full-refresh` (twice: both candidate schemas) and `bankwh
export --full --retention-hours 0` leave none anywhere; see README "Personal data".

What is overwritten, keeping every row (row counts, keys and amounts of the warehouse stay as they were):
- the client's rows in `clients` (every delivered version): names become `erased`; national id, e-mail, phone,
  street, postal code, city and birth date become NULL;
- the IBAN of every account of the client (NULL: staging accepts an account without one), and that IBAN wherever
  another client's transaction names it as counterparty;
- the comment of every survey response of the client, in the landing-file table and in the API's table;
- the text of every quarantined line holding the client's id, one of its IBANs, its national id, e-mail or phone
  (`[erased]`: the line's file, number and reason stay, so the ledger's counts still add up).
dlt's leftover staging schema is dropped. The landing files themselves are the bank's export: they are not read
again (each file loads once, by name and sha256) unless re-delivered, and their retention is the bank's.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg2 import sql

from .contract import RAW_SCHEMA
from .ledger import QUARANTINE_TABLE
from .raw_tables import API_SCHEMA

ERASED = "erased"
ERASED_LINE = "[erased]"
#: clients columns → the value they get (None: NULL)
CLIENT_VALUES: dict[str, str | None] = {
    "first_name": ERASED,
    "last_name": ERASED,
    "national_id": None,
    "email": None,
    "phone": None,
    "street": None,
    "postal_code": None,
    "city": None,
    "birth_date": None,
}
#: columns whose values identify the client in a quarantined line wherever they appear
IDENTIFYING = ("national_id", "email", "phone")


@dataclass
class Erasure:
    """What one erasure changed, table by table (rows updated)."""

    client_id: str
    client_rows: int = 0
    account_rows: int = 0
    counterparty_rows: int = 0
    survey_rows: int = 0
    quarantined_lines: int = 0

    def summary(self) -> str:
        return (
            f"client {self.client_id}: {self.client_rows} client row(s), {self.account_rows} account row(s), "
            f"{self.counterparty_rows} counterparty IBAN(s) in transactions, {self.survey_rows} survey comment(s), "
            f"{self.quarantined_lines} quarantined line(s) erased in the raw layer"
        )


def _columns(cur, schema: str, table: str) -> set[str]:
    cur.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema, table),
    )
    return {r[0] for r in cur.fetchall()}


def erase_client(conn, client_id: str) -> Erasure:
    """Overwrite the client's personal values in the raw layer and commit; ValueError for an unknown client id."""
    client_id = client_id.strip()
    result = Erasure(client_id)
    raw = sql.Identifier(RAW_SCHEMA)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("select 1 from {}.clients where trim(client_id) = %s limit 1").format(raw), (client_id,))
        if cur.fetchone() is None:
            raise ValueError(f"no client {client_id!r} in {RAW_SCHEMA}.clients: nothing erased")
        client_columns = [c for c in CLIENT_VALUES if c in _columns(cur, RAW_SCHEMA, "clients")]
        found = [c for c in IDENTIFYING if c in client_columns]
        values: set[str] = {client_id}
        if found:
            cur.execute(
                sql.SQL("select {} from {}.clients where trim(client_id) = %s").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in found), raw
                ),
                (client_id,),
            )
            values |= {str(v).strip() for row in cur.fetchall() for v in row if v and str(v).strip()}
        cur.execute(
            sql.SQL(
                "select distinct upper(replace(trim(iban), ' ', '')) from {}.accounts "
                "where trim(client_id) = %s and coalesce(trim(iban), '') <> ''"
            ).format(raw),
            (client_id,),
        )
        ibans = [r[0] for r in cur.fetchall()]
        values |= set(ibans)

        assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in client_columns)
        cur.execute(
            sql.SQL("update {}.clients set {} where trim(client_id) = %s").format(raw, assignments),
            [CLIENT_VALUES[c] for c in client_columns] + [client_id],
        )
        result.client_rows = cur.rowcount
        cur.execute(
            sql.SQL("update {}.accounts set iban = null where trim(client_id) = %s and iban is not null").format(raw),
            (client_id,),
        )
        result.account_rows = cur.rowcount
        if ibans:
            cur.execute(
                sql.SQL(
                    "update {}.transactions set counterparty_iban = null "
                    "where upper(replace(trim(counterparty_iban), ' ', '')) = any(%s)"
                ).format(raw),
                (ibans,),
            )
            result.counterparty_rows = cur.rowcount
        for schema, table in ((RAW_SCHEMA, "surveys"), (API_SCHEMA, "survey_responses")):
            if {"client_id", "comment"} <= _columns(cur, schema, table):
                cur.execute(
                    sql.SQL(
                        "update {}.{} set comment = null where trim(client_id) = %s and comment is not null"
                    ).format(sql.Identifier(schema), sql.Identifier(table)),
                    (client_id,),
                )
                result.survey_rows += cur.rowcount
        if _columns(cur, RAW_SCHEMA, QUARANTINE_TABLE):
            # the client id as a whole field of the line; the other values anywhere in it
            cur.execute(
                sql.SQL(
                    "update {}.{} set raw_line = %s where raw_line <> %s and ("
                    "strpos(',' || replace(raw_line, ' ', '') || ',', ',' || %s || ',') > 0 "
                    "or exists (select 1 from unnest(%s::text[]) as v where strpos(upper(replace(raw_line, ' ', '')), "
                    "upper(replace(v, ' ', ''))) > 0))"
                ).format(raw, sql.Identifier(QUARANTINE_TABLE)),
                (ERASED_LINE, ERASED_LINE, client_id, sorted(values - {client_id})),
            )
            result.quarantined_lines = cur.rowcount
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(f"{RAW_SCHEMA}_staging")))
    conn.commit()
    return result
