"""The dashboard's figures, each one query of the published marts (schema `marts`) and nothing else.

Why only `marts`: its views point at the last night that passed every gate (publishing/publish.py), so a reader
never sees a candidate schema mid-build. The aggregates the marts already hold are read as they are; transaction
volumes, fraud and the loan book are grouped from the facts here because the filters include the client segment,
which the channel and loan aggregates do not carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from publishing.publish import PUBLISHED_SCHEMA

#: The source banks the marts tell apart (column source_system), in the order the filter shows them.
SOURCES = ("core_banking", "berka")


@dataclass(frozen=True)
class Filters:
    """What the business user picked: a month range (first days of months, inclusive), segments and source banks."""

    first_month: date
    last_month: date
    segments: tuple[str, ...]
    sources: tuple[str, ...]

    def params(self) -> dict[str, Any]:
        return {
            "first_month": self.first_month,
            "last_month": self.last_month,
            "segments": list(self.segments),
            "sources": list(self.sources),
        }


def _frame(conn, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(sql.replace("{marts}", PUBLISHED_SCHEMA), params or {})
        columns = [c.name for c in cur.description]
        rows = cur.fetchall()
    return pd.DataFrame.from_records(rows, columns=columns)


def published(conn) -> bool:
    """Whether a night was published (the marts the page reads exist)."""
    return _frame(conn, "select to_regclass('{marts}.agg_revenue_monthly_by_product_segment') is not null as ok")["ok"][
        0
    ]


def options(conn) -> dict[str, list]:
    """The filters' choices: every month with figures, every client segment, every source bank present."""
    months = _frame(
        conn,
        """
        select revenue_month as month, source_system from {marts}.agg_revenue_monthly_by_product_segment
        union select booking_month, source_system from {marts}.agg_fraud_rate_by_channel
        union select survey_month, source_system from {marts}.agg_nps_by_segment
        """,
    )
    segments = _frame(conn, "select distinct segment from {marts}.dim_clients where segment is not null order by 1")
    present = set(months["source_system"]) if not months.empty else set()
    return {
        "months": sorted(set(months["month"])) if not months.empty else [],
        "months_by_source": {s: sorted(set(months.loc[months["source_system"] == s, "month"])) for s in present},
        "segments": list(segments["segment"]),
        "sources": [s for s in SOURCES if s in present] + sorted(present - set(SOURCES)),
    }


def revenue(conn, filters: Filters) -> pd.DataFrame:
    """Revenue in EUR per month, product and client segment (agg_revenue_monthly_by_product_segment)."""
    return _frame(
        conn,
        """
        select revenue_month as month, product_type, product_code, segment, sum(revenue_eur)::float as revenue_eur
        from {marts}.agg_revenue_monthly_by_product_segment
        where revenue_month between %(first_month)s and %(last_month)s
            and segment = any(%(segments)s) and source_system = any(%(sources)s)
        group by 1, 2, 3, 4
        order by 1, 2, 3, 4
        """,
        filters.params(),
    )


def transactions_by_channel(conn, filters: Filters) -> pd.DataFrame:
    """Booked transactions per month and channel: count, EUR volume and confirmed fraud (fact_transactions,
    fact_fraud, the client's segment from dim_clients)."""
    return _frame(
        conn,
        """
        with fraud as (
            select distinct transaction_key from {marts}.fact_fraud where is_fraud
        )
        select
            date_trunc('month', t.booked_date)::date as month,
            t.channel,
            count(*)::integer as transaction_count,
            coalesce(sum(abs(t.amount_eur)), 0)::float as amount_eur,
            count(fraud.transaction_key)::integer as fraud_count
        from {marts}.fact_transactions as t
        inner join {marts}.dim_clients as c on t.client_key = c.client_key
        left join fraud on t.transaction_key = fraud.transaction_key
        where t.booked_date >= %(first_month)s and t.booked_date < %(last_month)s::date + interval '1 month'
            and c.segment = any(%(segments)s) and t.source_system = any(%(sources)s)
        group by 1, 2
        order by 1, 2
        """,
        filters.params(),
    )


def loan_book(conn, filters: Filters) -> pd.DataFrame:
    """Outstanding principal in EUR per product, all and non-performing (fact_loans as of the published night),
    of the loans granted up to the last month of the range."""
    return _frame(
        conn,
        """
        select
            p.product_code,
            count(*)::integer as loan_count,
            count(*) filter (where l.is_non_performing)::integer as non_performing_count,
            coalesce(sum(l.outstanding_principal_eur), 0)::float as outstanding_eur,
            coalesce(sum(l.outstanding_principal_eur) filter (where l.is_non_performing), 0)::float
                as non_performing_eur
        from {marts}.fact_loans as l
        inner join {marts}.dim_clients as c on l.client_key = c.client_key
        inner join {marts}.dim_products as p on l.product_key = p.product_key
        where l.start_date < %(last_month)s::date + interval '1 month'
            and c.segment = any(%(segments)s) and l.source_system = any(%(sources)s)
        group by 1
        order by 1
        """,
        filters.params(),
    )


def nps(conn, filters: Filters) -> pd.DataFrame:
    """Survey answers per month and segment: responses, promoters, detractors (agg_nps_by_segment)."""
    return _frame(
        conn,
        """
        select survey_month as month, segment,
            sum(response_count)::integer as response_count,
            sum(promoter_count)::integer as promoter_count,
            sum(detractor_count)::integer as detractor_count
        from {marts}.agg_nps_by_segment
        where survey_month between %(first_month)s and %(last_month)s
            and segment = any(%(segments)s) and source_system = any(%(sources)s)
        group by 1, 2
        order by 1, 2
        """,
        filters.params(),
    )


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide by (shown as "–", never as 0 %)."""
    return part / whole if whole else None


def net_promoter_score(promoters: float, detractors: float, responses: float) -> float | None:
    """NPS in points (-100..100): the share of promoters minus the share of detractors."""
    share = ratio(promoters - detractors, responses)
    return None if share is None else 100.0 * share


def headline(
    revenue_rows: pd.DataFrame, channel_rows: pd.DataFrame, loan_rows: pd.DataFrame, nps_rows: pd.DataFrame
) -> dict[str, float | None]:
    """The five figures at the top of the page, from the same frames as the charts."""

    def total(frame: pd.DataFrame, column: str) -> float:
        return float(frame[column].sum()) if not frame.empty else 0.0

    return {
        "revenue_eur": total(revenue_rows, "revenue_eur"),
        "transactions": total(channel_rows, "transaction_count"),
        "fraud_rate": ratio(total(channel_rows, "fraud_count"), total(channel_rows, "transaction_count")),
        "npl_ratio": ratio(total(loan_rows, "non_performing_eur"), total(loan_rows, "outstanding_eur")),
        "nps": net_promoter_score(
            total(nps_rows, "promoter_count"), total(nps_rows, "detractor_count"), total(nps_rows, "response_count")
        ),
    }


def month_labels(months: Sequence[date]) -> list[str]:
    return [m.strftime("%Y-%m") for m in months]
