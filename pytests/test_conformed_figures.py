"""Every mart's figures, per source system, against a recorded baseline: restructuring the models keeps the numbers.

The warehouse is built on both banks at once: the fixture bank of pytests/dbt_helpers.py in its two deliveries
(days 1-4, then days 5-7, with a build after each, as in test_dbt_project.py) and the PKDD'99 Czech bank loaded
with the first delivery. For every mart, and within it for every source_system where the mart has that column, the
test records the row count, the sum of every numeric column and an md5 of the sorted primary keys, and compares them
with `pytests/data/conformed_figures.json`, captured on the models as they stood before the intermediate layer was
conformed.

A figure that changes on purpose is listed in DOCUMENTED_CHANGES with its old value, its new value and the reason;
the baseline itself is never rewritten to make a change pass. So far one change is by design: type-2 history comes
from the versions the exports deliver, not from what each build happened to see (dim_clients, agg_nps_by_segment).
`BANKWH_CAPTURE_FIGURES=1` writes the JSON instead of comparing (for the first capture only).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_helpers import _day, build_bank, load_raw, query, run_dbt

from ingest.berka_pipeline import run_berka_ingest
from warehouse import Warehouse

BASELINE = Path(__file__).parent / "data" / "conformed_figures.json"
VARS = ["--vars", json.dumps({"late_arrival_lookback_days": 2})]
BALANCE_GATE = "assert_balances_reconcile_with_movements"  # fails until the late transaction of day 6 arrives

# The grain of every mart: the primary key, or the columns of its compound-uniqueness test.
PRIMARY_KEYS: dict[str, list[str]] = {
    "agg_fraud_rate_by_channel": ["booking_month", "source_system", "channel"],
    "agg_loan_portfolio_quality": ["source_system", "product_code", "dpd_bucket"],
    "agg_nps_by_segment": ["survey_month", "source_system", "segment"],
    "agg_revenue_monthly_by_product_segment": [
        "revenue_month",
        "source_system",
        "product_code",
        "product_type",
        "segment",
        "revenue_category",
    ],
    "bridge_account_holders": ["account_holder_key"],
    "dim_accounts": ["account_key"],
    "dim_cards": ["card_key"],
    "dim_clients": ["client_key"],
    "dim_dates": ["date_key"],
    "dim_products": ["product_key"],
    "dim_satisfaction": ["satisfaction_key"],
    "dim_standing_orders": ["standing_order_key"],
    "fact_fraud": ["fraud_label_key"],
    "fact_loans": ["loan_key"],
    "fact_payments": ["payment_key"],
    "fact_revenue": ["revenue_key"],
    "fact_transactions": ["transaction_key"],
}

NUMERIC_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")

# Client C004 of the fixture bank moves from segment mass to affluent on day 4 (updated_at 2025-01-05 11:00); both
# versions are delivered before the first build. The snapshot behind dim_clients saw only the latest, so C004 had
# one version (affluent since 1900). dim_clients now takes its versions from the exports (int_clients_versioned):
# C004 has two, mass until 2025-01-05 11:00, then affluent.
C004_SECOND_VERSION = (
    "C004's two versions were delivered before one build: history from the exports keeps both, the snapshot kept one"
)
C004_SURVEY_SEGMENT = (
    "C004's survey (R004, 2025-01-05, NPS 9, CSAT 5) falls in its mass version now, not in the affluent one: the "
    "affluent segment loses a promoter (its score drops) and mass gains one"
)
# (mart, source_system, figure) -> (baseline value, value now, why it changed).
DOCUMENTED_CHANGES: dict[tuple[str, str, str], tuple[object, object, str]] = {
    ("dim_clients", "core_banking", "rows"): ("6", "7", C004_SECOND_VERSION),
    ("dim_clients", "core_banking", "sum_risk_rating"): ("17", "21", C004_SECOND_VERSION + " (risk rating 4)"),
    ("dim_clients", "core_banking", "sum_version_number"): ("6", "8", C004_SECOND_VERSION + " (version 2)"),
    ("dim_clients", "core_banking", "key_md5"): (
        "c316b95b32b4e174e46b25a8ee257ff9",
        "b1a1d54a8beca8a2ef75f3f6121ea809",
        C004_SECOND_VERSION + " (one more client_key)",
    ),
    ("agg_nps_by_segment", "core_banking", "sum_average_csat"): ("14.500", "13.667", C004_SURVEY_SEGMENT),
    ("agg_nps_by_segment", "core_banking", "sum_net_promoter_score"): ("50.00", "-33.33", C004_SURVEY_SEGMENT),
}


@pytest.fixture(scope="module")
def both_banks(server: Warehouse, berka_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """Both banks loaded and built in two nights, in a database of this module's own."""
    name = f"bankwh_figures_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    wh = server.with_database(name)
    work = tmp_path_factory.mktemp("dbt_figures")
    bank = build_bank()
    load_raw(wh, bank, through=_day(3))
    run_berka_ingest(wh, berka_dir, log=lambda *_: None)
    first = run_dbt(wh, ["build", "--exclude", BALANCE_GATE, *VARS], work, threads=2)
    assert first.failed() == [], first.failed()
    load_raw(wh, bank, through=_day(6), after=_day(3))
    second = run_dbt(wh, ["build", *VARS], work, threads=2)
    assert second.failed() == [] and second.success, second.failed()
    yield wh
    if not os.environ.get("BANKWH_TEST_KEEP_DB"):
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


def _text(value: object) -> str:
    """Numbers as text: decimals exactly, floating sums rounded to 6 places (their last bits follow the sum order)."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{Decimal(value).quantize(Decimal('0.000001'))}"
    return str(value)


def mart_figures(wh: Warehouse, schema: str = "marts") -> dict[str, dict[str, dict[str, str]]]:
    """{mart: {source_system or 'all': {figure: value}}}: rows, sum of each numeric column, md5 of the sorted keys."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in query(
        wh,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = %s order by table_name, ordinal_position",
        (schema,),
    ):
        columns.setdefault(table, []).append((column, data_type))
    assert sorted(columns) == sorted(PRIMARY_KEYS), "a mart was added or removed: list its primary key here"
    figures: dict[str, dict[str, dict[str, str]]] = {}
    for mart, cols in columns.items():
        names = [c for c, _ in cols]
        group = "source_system" if "source_system" in names else "'all'"
        key = " || '|' || ".join(f"coalesce(cast({c} as text), '_null_')" for c in PRIMARY_KEYS[mart])
        measures = [c for c, t in cols if t in NUMERIC_TYPES]
        select = ", ".join(
            [
                f"{group} as grp",
                "count(*) as rows",
                f"md5(string_agg({key}, ',' order by {key})) as key_md5",
                *(f'sum("{c}") as "sum_{c}"' for c in measures),
            ]
        )
        with wh.cursor() as cur:
            cur.execute(f"select {select} from {schema}.{mart} group by 1 order by 1")
            labels = [d[0] for d in cur.description][1:]
            figures[mart] = {str(row[0]): dict(zip(labels, map(_text, row[1:]), strict=True)) for row in cur.fetchall()}
    return figures


def _flatten(figures: dict[str, dict[str, dict[str, str]]]) -> dict[tuple[str, str, str], str]:
    return {(m, g, f): v for m, groups in figures.items() for g, values in groups.items() for f, v in values.items()}


def test_every_mart_keeps_its_figures_per_source_system(both_banks: Warehouse) -> None:
    figures = mart_figures(both_banks)
    if os.environ.get("BANKWH_CAPTURE_FIGURES"):
        BASELINE.parent.mkdir(parents=True, exist_ok=True)
        BASELINE.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"baseline written to {BASELINE}")
    expected = _flatten(json.loads(BASELINE.read_text(encoding="utf-8")))
    for figure, (old, new, _why) in DOCUMENTED_CHANGES.items():
        assert expected.get(figure) == old, f"documented change {figure} does not start from the baseline"
        expected[figure] = new
    actual = _flatten(figures)
    differences = {
        figure: (expected.get(figure), actual.get(figure))
        for figure in sorted(set(expected) | set(actual))
        if expected.get(figure) != actual.get(figure)
    }
    assert differences == {}, json.dumps({" / ".join(k): v for k, v in differences.items()}, indent=1)


def test_both_banks_and_a_history_are_in_the_baseline() -> None:
    """The baseline covers what the restructuring could break: both source systems in every mart both banks feed,
    the whole Czech transaction file, and type-2 history (the fixture bank's account A005 in two versions)."""
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    both = {mart for mart, groups in baseline.items() if {"berka", "core_banking"} <= set(groups)}
    assert both >= {
        "bridge_account_holders",
        "dim_accounts",
        "dim_clients",
        "dim_products",
        "fact_loans",
        "fact_payments",
        "fact_revenue",
        "fact_transactions",
        "agg_revenue_monthly_by_product_segment",
        "agg_loan_portfolio_quality",
        "agg_fraud_rate_by_channel",
    }
    assert baseline["fact_transactions"]["berka"]["rows"] == "46997"
    assert baseline["dim_accounts"]["core_banking"]["rows"] == "8"  # 7 accounts, A005 changed between the builds
