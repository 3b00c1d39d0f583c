"""The Streamlit page (`bankwh dashboard` runs it): filters in the sidebar, five headline figures, six charts.

Connection: the libpq variables `bankwh dashboard` hands over (the analyst role when one is configured). Every
query reads schema `marts` only (dashboard/queries.py); results are cached for a few minutes, so a night published
meanwhile appears at the next refresh after that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import streamlit as st

import warehouse
from dashboard import charts, queries

CACHE_S = 300


@contextmanager
def _connection() -> Iterator:
    """A read-only connection for one refresh; autocommit, so no open transaction ever holds up a view switch."""
    conn = warehouse.from_env().connect()
    try:
        conn.set_session(readonly=True, autocommit=True)
        yield conn
    finally:
        conn.close()


@st.cache_data(ttl=CACHE_S, show_spinner=False)
def _options() -> dict:
    with _connection() as conn:
        return queries.options(conn) if queries.published(conn) else {"months": []}


@st.cache_data(ttl=CACHE_S, show_spinner="Reading the marts ...")
def _figures(first: date, last: date, segments: tuple[str, ...], sources: tuple[str, ...]) -> dict:
    filters = queries.Filters(first, last, segments, sources)
    with _connection() as conn:
        return {
            "revenue": queries.revenue(conn, filters),
            "channels": queries.transactions_by_channel(conn, filters),
            "loans": queries.loan_book(conn, filters),
            "nps": queries.nps(conn, filters),
        }


def _filters(options: dict) -> queries.Filters | None:
    st.sidebar.header("Filters")
    sources = st.sidebar.pills("Source bank", options["sources"], selection_mode="multi",
                               default=options["sources"], key="sources")  # fmt: skip
    segments = st.sidebar.pills("Client segment", options["segments"], selection_mode="multi",
                                default=options["segments"], key="segments")  # fmt: skip
    months: list[date] = sorted({m for s in sources for m in options["months_by_source"].get(s, [])})
    if not sources or not segments or not months:
        st.info("Pick at least one source bank and one segment that have figures.")
        return None
    if len(months) == 1:
        first = last = months[0]
        st.sidebar.caption(f"Month: {months[0]:%Y-%m}")
    else:
        first, last = st.sidebar.select_slider("Months", options=months, value=(months[0], months[-1]),
                                               format_func=lambda m: m.strftime("%Y-%m"), key="months")  # fmt: skip
    return queries.Filters(first, last, tuple(segments), tuple(sources))


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def _headline(figures: dict) -> None:
    head = queries.headline(figures["revenue"], figures["channels"], figures["loans"], figures["nps"])
    cols = st.columns(5)
    cols[0].metric("Revenue (EUR)", f"{head['revenue_eur']:,.0f}")
    cols[1].metric("Transactions", f"{head['transactions']:,.0f}")
    cols[2].metric("Fraud rate", _percent(head["fraud_rate"]))
    cols[3].metric("NPL ratio", _percent(head["npl_ratio"]))
    cols[4].metric("NPS", "–" if head["nps"] is None else f"{head['nps']:.1f}")


def _chart(key: str, frame, draw) -> None:
    if frame.empty:
        st.info(f"{charts.CHARTS[key]}: no figures for these filters.")
        return
    st.plotly_chart(draw(frame), key=key)


def main() -> None:
    st.set_page_config(page_title="Bank warehouse dashboard", layout="wide")
    st.title("Bank warehouse")
    st.caption("The last published night of the marts (schema marts): every figure passed the night's quality gates.")
    options = _options()
    if not options["months"]:
        st.warning("The published marts hold no figures yet: run a night first (`bankwh run`).")
        return
    filters = _filters(options)
    if filters is None:
        return
    figures = _figures(filters.first_month, filters.last_month, filters.segments, filters.sources)
    _headline(figures)
    left, right = st.columns(2)
    with left:
        _chart("revenue-by-product", figures["revenue"], charts.revenue_by_product)
        _chart("volume-by-channel", figures["channels"], charts.volume_by_channel)
        _chart("npl-ratio", figures["loans"], charts.npl_ratio)
    with right:
        _chart("revenue-by-segment", figures["revenue"], charts.revenue_by_segment)
        _chart("fraud-rate-by-channel", figures["channels"], charts.fraud_rate_by_channel)
        _chart("nps-by-segment", figures["nps"], charts.nps_by_segment)
    st.caption("NPL ratio: outstanding principal of non-performing loans over all outstanding principal, as of the "
               "published night, for the loans granted up to the last month selected.")  # fmt: skip


main()
