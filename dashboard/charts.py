"""The dashboard's charts: plotly figures from the frames of dashboard/queries.py, one function per chart.

Months are shown as `YYYY-MM` categories, not as a date axis: the two source banks are decades apart (the Czech
bank's 1993–1998, the simulated bank's current year), and a date axis would spend the page on the gap.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dashboard.queries import net_promoter_score, ratio

#: The charts in page order: key (the element's id for the screen tests) and title.
CHARTS = {
    "revenue-by-product": "Monthly revenue by product (EUR)",
    "revenue-by-segment": "Revenue by segment and product (EUR)",
    "volume-by-channel": "Transaction volumes by channel",
    "fraud-rate-by-channel": "Fraud rate by channel",
    "npl-ratio": "Non-performing loan ratio by product",
    "nps-by-segment": "Net promoter score by segment",
}


def _monthly(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
    return out


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend_title_text="")
    return fig


def _percent_bars(fig: go.Figure, values: pd.Series) -> go.Figure:
    """Bars of a rate: the value written above each bar, the axis from 0, so a 0.00 % product still reads as one."""
    fig.update_traces(textposition="outside", cliponaxis=False)
    fig.update_yaxes(range=[0, max(1.0, float(values.max()) * 1.2)])
    return fig


def revenue_by_product(frame: pd.DataFrame) -> go.Figure:
    data = _monthly(frame).groupby(["month", "product_type"], as_index=False)["revenue_eur"].sum()
    fig = px.bar(data, x="month", y="revenue_eur", color="product_type", labels={"revenue_eur": "EUR", "month": ""})
    fig.update_xaxes(type="category")
    return _layout(fig, CHARTS["revenue-by-product"])


def revenue_by_segment(frame: pd.DataFrame) -> go.Figure:
    data = frame.groupby(["segment", "product_type"], as_index=False)["revenue_eur"].sum()
    fig = px.bar(data, x="segment", y="revenue_eur", color="product_type", labels={"revenue_eur": "EUR", "segment": ""})
    return _layout(fig, CHARTS["revenue-by-segment"])


def volume_by_channel(frame: pd.DataFrame) -> go.Figure:
    data = _monthly(frame)
    fig = px.bar(data, x="month", y="transaction_count", color="channel",
                 labels={"transaction_count": "transactions", "month": ""})  # fmt: skip
    fig.update_xaxes(type="category")
    return _layout(fig, CHARTS["volume-by-channel"])


def fraud_rate_by_channel(frame: pd.DataFrame) -> go.Figure:
    data = frame.groupby("channel", as_index=False)[["transaction_count", "fraud_count"]].sum()
    data["fraud_rate_pct"] = [
        100.0 * (ratio(f, n) or 0.0) for f, n in zip(data["fraud_count"], data["transaction_count"], strict=True)
    ]
    fig = px.bar(data, x="channel", y="fraud_rate_pct", hover_data=["fraud_count", "transaction_count"],
                 labels={"fraud_rate_pct": "% of transactions", "channel": ""}, text_auto=".2f")  # fmt: skip
    return _layout(_percent_bars(fig, data["fraud_rate_pct"]), CHARTS["fraud-rate-by-channel"])


def npl_ratio(frame: pd.DataFrame) -> go.Figure:
    data = frame.copy()
    data["npl_ratio_pct"] = [
        100.0 * (ratio(n, o) or 0.0) for n, o in zip(data["non_performing_eur"], data["outstanding_eur"], strict=True)
    ]
    labels = {"npl_ratio_pct": "% of outstanding principal", "product_code": ""}
    fig = px.bar(data, x="product_code", y="npl_ratio_pct", hover_data=["loan_count", "non_performing_count"],
                 labels=labels, text_auto=".2f")  # fmt: skip
    return _layout(_percent_bars(fig, data["npl_ratio_pct"]), CHARTS["npl-ratio"])


def nps_by_segment(frame: pd.DataFrame) -> go.Figure:
    data = _monthly(frame)
    data["nps"] = [
        net_promoter_score(p, d, n)
        for p, d, n in zip(data["promoter_count"], data["detractor_count"], data["response_count"], strict=True)
    ]
    fig = px.line(data, x="month", y="nps", color="segment", markers=True, labels={"nps": "NPS", "month": ""})
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[-100, 100])
    return _layout(fig, CHARTS["nps-by-segment"])
