"""The night's reconciliation: landing files → raw → staging → marts, in rows and in amounts, every gap explained.

Each step compares what went in with what came out and with what explains the difference:

- landing → raw, for every entity of every file ledger (`<raw schema>._file_loads`): the lines the ledger says the
  files delivered = the rows in the raw table + the lines in `<raw schema>._quarantine` for those files;
- raw → staging, for the transactions: one staged row per raw row (staging rejects by flagging, never by dropping);
- staging → marts, for the transactions: staged rows = fact_transactions rows + rejected rows (with their reason)
  + duplicate deliveries removed (`rows_delivered - 1`); amounts likewise, a removed duplicate's amount being the
  part of its transaction's staged amount the fact did not keep.

`unexplained_rows` and `unexplained_amount` are what is left: 0 on a healthy night. A row deleted behind the
pipeline's back (from a raw table, a staging table or a mart) leaves a non-zero figure on the step whose `to_table`
names that table, and the step becomes an alert (error) to the owners of that table. Every step of every night is
kept in `monitoring.reconciliation`; the published figure is the night's sum of |unexplained_rows|.

Why the checks read tables rather than trust the ledger's own arithmetic: the ledger proves the ingest counted
right when it ran; the reconciliation proves that nothing since (a manual delete, a bad replay) took rows away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .findings import UNOWNED, Finding, Findings, Owner

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

TABLE = "monitoring.reconciliation"
DDL = f"""
create schema if not exists monitoring;
create table if not exists {TABLE} (
    run_id text not null,
    source_system text not null,
    entity text not null,
    from_stage text not null,
    to_stage text not null,
    from_table text,
    to_table text not null,
    rows_in bigint not null,
    rows_out bigint not null,
    explained_rows bigint not null,
    unexplained_rows bigint not null,
    amount_in numeric,
    amount_out numeric,
    explained_amount numeric,
    unexplained_amount numeric,
    explanation text,
    recorded_at timestamptz not null default now(),
    primary key (run_id, source_system, entity, from_stage, to_stage)
);
"""
COLUMNS = ("run_id", "source_system", "entity", "from_stage", "to_stage", "from_table", "to_table", "rows_in",
           "rows_out", "explained_rows", "unexplained_rows", "amount_in", "amount_out", "explained_amount",
           "unexplained_amount", "explanation")  # fmt: skip
#: File ledgers: raw schema -> (source system, dbt source name).
LEDGERS = {"raw_core_banking": ("core_banking", "core_banking"), "raw_berka": ("berka", "raw_berka")}
#: The transactions of each source system from staging to the fact: staging table, the relation that flags the final
#: verdict (is_valid), its id and amount columns, and the dbt nodes (for owners).
TRANSACTIONS = {
    "core_banking": {
        "raw": "raw_core_banking.transactions",
        "staging": "staging.stg_core_banking__transactions",
        "verdict": "intermediate.int_transactions_validated",
        "id": "transaction_id",
        "amount": "amount",
        "staging_node": "model.bank_warehouse.stg_core_banking__transactions",
    },
    "berka": {
        "raw": "raw_berka.trans",
        "staging": "staging.stg_berka__transaction",
        "verdict": "staging.stg_berka__transaction",
        "id": "trans_id",
        "amount": "signed_amount",
        "staging_node": "model.bank_warehouse.stg_berka__transaction",
    },
}
FACT_NODE = "model.bank_warehouse.fact_transactions"
CENT = Decimal("0.005")

OwnerLookup = Callable[[str], tuple[Owner, ...]]


@dataclass(frozen=True)
class Step:
    """One step of one entity: rows (and amounts, where both sides have numbers) in, out, explained, left over."""

    source_system: str
    entity: str
    from_stage: str
    to_stage: str
    from_table: str | None
    to_table: str
    rows_in: int
    rows_out: int
    explained_rows: int
    amount_in: Decimal | None = None
    amount_out: Decimal | None = None
    explained_amount: Decimal | None = None
    explanation: str = ""
    node: str = ""  # the dbt node of to_table, whose owners answer for a gap

    @property
    def unexplained_rows(self) -> int:
        return self.rows_in - self.rows_out - self.explained_rows

    @property
    def unexplained_amount(self) -> Decimal | None:
        if self.amount_in is None or self.amount_out is None:
            return None
        return self.amount_in - self.amount_out - (self.explained_amount or 0)

    @property
    def balanced(self) -> bool:
        amount = self.unexplained_amount
        return self.unexplained_rows == 0 and (amount is None or abs(amount) < CENT)

    @property
    def key(self) -> str:
        return f"reconciliation.{self.source_system}.{self.entity}.{self.from_stage}_to_{self.to_stage}"

    def describe(self) -> str:
        """One line naming the table where the gap is, in rows and in amount."""
        amount = self.unexplained_amount
        money = f" and {amount:,.2f} of amount" if amount is not None and abs(amount) >= CENT else ""
        return (f"{self.source_system}.{self.entity} {self.from_stage} -> {self.to_stage}: {self.unexplained_rows:+,} "
                f"rows{money} unexplained in {self.to_table} ({self.rows_in:,} in from {self.from_table}, "
                f"{self.rows_out:,} out, {self.explained_rows:,} explained: {self.explanation})")  # fmt: skip

    def row(self, run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, **{c: getattr(self, c) for c in COLUMNS[1:]}}


def _exists(cur, relation: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (relation,))
    return bool(cur.fetchone()[0])


def _one(cur, sql: str, params: tuple = ()) -> tuple:
    cur.execute(sql, params)
    return cur.fetchone()


def landing_steps(cur) -> list[Step]:
    """Files → raw for every entity of every file ledger whose raw table exists."""
    steps = []
    for schema, (system, dbt_source) in LEDGERS.items():
        if not _exists(cur, f"{schema}._file_loads"):
            continue
        cur.execute(f"select entity, sum(lines_in), count(*) from {schema}._file_loads group by entity order by entity")
        for entity, lines_in, files in cur.fetchall():
            raw = f"{schema}.{entity}"
            if not _exists(cur, f'{schema}."{entity}"'):
                continue
            (rows,) = _one(cur, f'select count(*) from {schema}."{entity}"')
            (quarantined,) = _one(
                cur,
                f"select count(*) from {schema}._quarantine as q "
                f"where q.file_name in (select file_name from {schema}._file_loads where entity = %s)",
                (entity,),
            )
            steps.append(Step(system, entity, "landing", "raw", f"{schema}._file_loads ({files} files)", raw,
                              int(lines_in), int(rows), int(quarantined),
                              explanation=f"{quarantined} lines quarantined",
                              node=f"source.bank_warehouse.{dbt_source}.{entity}"))  # fmt: skip
    return steps


def built_tonight(cur, run_id: str, model: str) -> bool:
    """False when the night's recorded build (monitoring.dbt_node_results) ran without building the model named
    `model` (it errored, was skipped after an upstream failure, or was not selected): the candidate schema then holds
    an older night's table, and comparing it with tonight's staging would report gaps that are no one's. True when the
    run recorded no build at all (the checks called by hand, on whatever the schema holds)."""
    if not _exists(cur, "monitoring.dbt_node_results"):
        return True
    cur.execute(
        "select bool_or(resource_type = 'model' and name = %s and status = 'success'), count(*) "
        "from monitoring.dbt_node_results where run_id = %s",
        (model, run_id),
    )
    built, recorded = cur.fetchone()
    return bool(built) or not recorded


def transaction_steps(cur, schema: str, run_id: str = "") -> list[Step]:
    """Raw → staging → marts for the transactions of each source system whose relations exist in `schema`; the
    step into the fact only when tonight's build built it (`built_tonight`)."""
    fact = f"{schema}.fact_transactions"
    if not _exists(cur, fact):
        return []
    into_fact = built_tonight(cur, run_id, "fact_transactions")
    steps = []
    for system, t in TRANSACTIONS.items():
        if not all(_exists(cur, t[k]) for k in ("raw", "staging", "verdict")):
            continue
        (raw_rows,) = _one(cur, f"select count(*) from {t['raw']}")
        staged_rows, staged_amount = _one(cur, f"select count(*), coalesce(sum({t['amount']}), 0) from {t['staging']}")
        steps.append(Step(system, "transactions", "raw", "staging", t["raw"], t["staging"], raw_rows, staged_rows, 0,
                          explanation="staging flags rejected rows, keeps them", node=t["staging_node"]))  # fmt: skip
        if not into_fact:
            continue
        sql = f"""
            with fact as (
                select transaction_id as id, amount, rows_delivered from {fact} where source_system = %s
            ),
            verdicts as (select {t["id"]}::text as id, {t["amount"]} as amount, is_valid from {t["verdict"]}),
            valid_by_id as (select id, sum(amount) as amount from verdicts where is_valid group by id)
            select
                (select count(*) from fact),
                (select coalesce(sum(amount), 0) from fact),
                (select count(*) from verdicts where not is_valid),
                (select coalesce(sum(amount), 0) from verdicts where not is_valid),
                (select coalesce(sum(rows_delivered - 1), 0) from fact),
                (select coalesce(sum(valid_by_id.amount - fact.amount), 0)
                 from fact join valid_by_id on fact.id = valid_by_id.id)
        """
        out_rows, out_amount, rejected, rejected_amount, duplicates, duplicate_amount = _one(cur, sql, (system,))
        steps.append(Step(system, "transactions", "staging", "marts", t["staging"], fact, staged_rows, out_rows,
                          rejected + duplicates, staged_amount, out_amount, rejected_amount + duplicate_amount,
                          explanation=f"{rejected} rejected, {duplicates} duplicate deliveries removed",
                          node=FACT_NODE))  # fmt: skip
    return steps


def findings_of(steps: Iterable[Step], owners: OwnerLookup) -> Findings:
    """An unbalanced step is an error alert to the owners of the table it names; a balanced one passes."""
    failures, passed = [], set()
    for step in steps:
        if step.balanced:
            passed.add(step.key)
            continue
        failures.append(Finding(
            unique_id=step.key,
            name=f"{step.source_system}.{step.entity} {step.from_stage} -> {step.to_stage}",
            resource_type="reconciliation",
            status="error",
            failures=abs(step.unexplained_rows),
            message=step.describe(),
            owners=owners(step.node) or (UNOWNED,),
        ))  # fmt: skip
    return Findings(tuple(failures), (), frozenset(passed))


def unexplained_difference(steps: Iterable[Step]) -> int:
    """The night's published figure: rows no rejection, quarantine or removed duplicate explains, over every step."""
    return sum(abs(s.unexplained_rows) for s in steps)


def reconcile(conn: Connection, run_id: str, schema: str,
              owners: OwnerLookup = lambda _node: ()) -> tuple[list[Step], Findings]:  # fmt: skip
    """Measure every step on tonight's candidate marts in `schema`, record them in monitoring.reconciliation
    (committed here), and return them with their alert findings."""
    with conn, conn.cursor() as cur:
        cur.execute(DDL)
        steps = landing_steps(cur) + transaction_steps(cur, schema, run_id)
        if steps:
            cur.executemany(
                f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({', '.join(['%s'] * len(COLUMNS))}) "
                "on conflict do nothing",
                [tuple(s.row(run_id)[c] for c in COLUMNS) for s in steps],
            )
    return steps, findings_of(steps, owners)
