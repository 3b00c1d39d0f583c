"""Anomalies of the night, without any cloud service: daily volumes against a trailing window of the same weekday,
the share of rejected rows per landing file, and the fraud rate.

Every point checked is recorded in `monitoring.anomalies` (run, metric, segment, day, value, expected range,
verdict), anomalous or not, so the report draws the series with its band and a reader sees what was expected.
Anomalies of the last `alert_days` days (and every file of tonight above the rejected share) become alert findings
(monitoring/alerts.py), keyed by metric and segment, so a drop that persists is one grouped alert and the first night
it is back in range resolves it.

Why the same weekday: a bank's Sunday is half a weekday and its Friday a busy one, so a day is compared with the
same weekday of the previous weeks (`QualityConfig.window_weeks`), never with the days just before it. Why median
and MAD: one salary Friday or one outage in the window must not move the expected range much. Why a tolerance as
well: a few weeks are too few points to trust a tight spread. Spikes have their own, wider tolerance, because the
bank's calendar (salary days, the card repayment day) multiplies some days' volume by design; drops have no such
excuse. A low fraud rate is never an anomaly, only a high one.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .config import QualityConfig
from .findings import UNOWNED, Finding, Findings, Owner
from .reconciliation import built_tonight

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

TABLE = "monitoring.anomalies"
DDL = f"""
create schema if not exists monitoring;
create table if not exists {TABLE} (
    run_id text not null,
    source_system text not null,
    metric text not null,
    segment text not null,
    day date not null,
    value numeric,
    expected_low numeric,
    expected_high numeric,
    is_anomaly boolean not null,
    baseline numeric,
    history_points integer,
    recorded_at timestamptz not null default now(),
    primary key (run_id, source_system, metric, segment, day)
);
"""
COLUMNS = ("run_id", "source_system", "metric", "segment", "day", "value", "expected_low", "expected_high",
           "is_anomaly", "baseline", "history_points")  # fmt: skip
COUNT, AMOUNT, FRAUD_RATE, REJECTED_SHARE = (
    "transaction_count",
    "transaction_amount_eur",
    "fraud_rate",
    "rejected_share",
)
MAD_TO_SIGMA = 1.4826
#: The raw schema and dbt source of each file source of monitoring.ingest_files.
FILE_SOURCES = {"files": ("core_banking", "raw_core_banking", "core_banking"),
                "berka": ("berka", "raw_berka", "raw_berka")}  # fmt: skip
DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")

OwnerLookup = Callable[[str], tuple[Owner, ...]]


@dataclass(frozen=True)
class Point:
    """One checked value: a metric of one segment on one day, its expected range and the verdict."""

    source_system: str
    metric: str
    segment: str
    day: date
    value: float
    expected_low: float
    expected_high: float
    baseline: float | None
    history_points: int
    node: str  # the dbt node whose owners answer for it (unique_id)

    @property
    def is_anomaly(self) -> bool:
        return not self.expected_low <= self.value <= self.expected_high

    @property
    def key(self) -> str:
        """The alert key: one open alert per metric and segment, whatever day it is on."""
        return f"anomaly.{self.source_system}.{self.metric}.{self.segment}"

    def describe(self) -> str:
        """One line naming the metric, the segment, the day, the value and the expected range."""
        where = f"{self.metric} {self.segment} ({self.source_system}) on {self.day:%Y-%m-%d} ({self.day:%A})"
        basis = f"; {self.history_points} earlier {self.day:%A}s" if self.metric in (COUNT, AMOUNT) else ""
        return (f"{where}: {_fmt(self.value)}, expected {_fmt(self.expected_low)} to {_fmt(self.expected_high)}"
                f"{basis}")  # fmt: skip

    def row(self, run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, "source_system": self.source_system, "metric": self.metric,
                "segment": self.segment, "day": self.day, "value": self.value, "expected_low": self.expected_low,
                "expected_high": self.expected_high, "is_anomaly": self.is_anomaly, "baseline": self.baseline,
                "history_points": self.history_points}  # fmt: skip


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1 and value != 0 else f"{value:,.0f}"


# --- the checks, on plain series -------------------------------------------------------------------------------------


def volume_points(
    series: dict[tuple[str, str, str], dict[date, tuple[float, float]]],
    spans: dict[str, tuple[date, date]],
    config: QualityConfig,
    node: str,
) -> list[Point]:
    """Count and amount of every (source system, segment) on each of the last `check_days` days, against the same
    weekday of the previous `window_weeks` weeks (days before the source's first day are not history; a day
    without rows counts 0). A segment whose usual count for that weekday is under `min_daily_rows` is not checked."""
    points = []
    for (system, _metric, segment), values in sorted(series.items()):
        first, newest = spans[system]
        for offset in range(min(config.check_days, (newest - first).days + 1)):
            day = newest - timedelta(days=offset)
            history = [day - timedelta(weeks=w) for w in range(1, config.window_weeks + 1)]
            history = [d for d in history if d >= first]
            if len(history) < config.min_history:
                continue
            counts = [values.get(d, (0.0, 0.0))[0] for d in history]
            if statistics.median(counts) < config.min_daily_rows:
                continue
            amounts = [values.get(d, (0.0, 0.0))[1] for d in history]
            count, amount = values.get(day, (0.0, 0.0))
            points.append(_point(system, COUNT, segment, day, count, counts, config.count_tolerance,
                                 config.count_spike_tolerance, config, node))  # fmt: skip
            points.append(_point(system, AMOUNT, segment, day, amount, amounts, config.amount_tolerance,
                                 config.amount_spike_tolerance, config, node))  # fmt: skip
    return points


def _point(system: str, metric: str, segment: str, day: date, value: float, history: list[float], tolerance: float,
           spike_tolerance: float, config: QualityConfig, node: str) -> Point:  # fmt: skip
    baseline = statistics.median(history)
    sigma = MAD_TO_SIGMA * statistics.median(abs(h - baseline) for h in history)
    low = max(0.0, baseline - max(config.sigmas * sigma, tolerance * baseline))
    high = baseline + max(config.sigmas * sigma, spike_tolerance * baseline)
    return Point(system, metric, segment, day, round(value, 2), round(low, 2), round(high, 2), round(baseline, 2),
                 len(history), node)  # fmt: skip


def fraud_points(
    daily: dict[str, dict[date, tuple[int, int]]], spans: dict[str, tuple[date, date]], config: QualityConfig,
    node: str,
) -> list[Point]:  # fmt: skip
    """The share of a day's transactions later labelled fraud, against the pooled rate of the previous
    `fraud_window_days` days: anomalous only above max(rate x (1 + fraud_rate_tolerance) + sigmas binomial standard
    deviations of the day, fraud_rate_floor)."""
    points = []
    for system, days in sorted(daily.items()):
        first, newest = spans[system]
        for offset in range(min(config.check_days, (newest - first).days + 1)):
            day = newest - timedelta(days=offset)
            frauds, total = days.get(day, (0, 0))
            window = [days.get(day - timedelta(days=d), (0, 0)) for d in range(1, config.fraud_window_days + 1)
                      if day - timedelta(days=d) >= first]  # fmt: skip
            base_total = sum(t for _, t in window)
            if not total or len(window) < config.min_history or not base_total:
                continue
            rate = sum(f for f, _ in window) / base_total
            spread = config.sigmas * (rate * (1 - rate) / total) ** 0.5
            high = max(rate * (1 + config.fraud_rate_tolerance) + spread, config.fraud_rate_floor)
            points.append(Point(system, FRAUD_RATE, "all", day, round(frauds / total, 6), 0.0, round(high, 6),
                                round(rate, 6), len(window), node))  # fmt: skip
    return points


def rejected_share_points(files: Iterable[dict[str, Any]], config: QualityConfig) -> list[Point]:
    """Tonight's files: (quarantined lines + rows staging rejected) / lines delivered, against rejected_share_max.
    The day is the delivery date in the file's name (else the day it was loaded)."""
    points = []
    for f in files:
        if not f["lines_in"]:
            continue
        day = _day_in_name(f["file"]) or f["loaded_on"]
        share = (f["quarantined"] + f["rejected"]) / f["lines_in"]
        points.append(Point(f["source_system"], REJECTED_SHARE, f["file"], day, round(share, 6), 0.0,
                            config.rejected_share_max, None, 0, f["node"]))  # fmt: skip
    return points


def _day_in_name(file: str) -> date | None:
    """The delivery day a file's name carries; None for a name that is no calendar day (2025-02-31.csv), which
    ingest quarantined whole and which is then counted on the day it was loaded."""
    found = DAY_IN_NAME.search(file)
    try:
        return date.fromisoformat(found.group(1)) if found else None
    except ValueError:
        return None


def findings_of(points: Iterable[Point], newest: dict[str, date], config: QualityConfig,
                owners: OwnerLookup) -> Findings:  # fmt: skip
    """Alert findings: an anomaly on one of the last `alert_days` days of its source (a rejected share: any file of
    tonight) fails its key; a key checked on those days without an anomaly passes (and resolves an open alert)."""
    recent: dict[str, list[Point]] = defaultdict(list)
    for p in points:
        if p.metric == REJECTED_SHARE or p.day > newest[p.source_system] - timedelta(days=config.alert_days):
            recent[p.key].append(p)
    failures, passed = [], set()
    for key, checked in sorted(recent.items()):
        bad = [p for p in checked if p.is_anomaly]
        if not bad:
            passed.add(key)
            continue
        first = bad[0]
        failures.append(Finding(
            unique_id=key,
            name=f"{first.metric} {first.segment} ({first.source_system})",
            resource_type="anomaly",
            status="fail",
            failures=len(bad),
            message="; ".join(p.describe() for p in sorted(bad, key=lambda p: p.day)),
            owners=owners(first.node) or (UNOWNED,),
        ))  # fmt: skip
    return Findings(tuple(failures), (), frozenset(passed))


# --- reading the series from the warehouse --------------------------------------------------------------------------


def _exists(cur, relation: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (relation,))
    return bool(cur.fetchone()[0])


def read_volumes(cur, schema: str, config: QualityConfig) -> tuple[dict, dict]:
    """Daily count and absolute EUR amount per source system: all, per channel, per product, over the days the
    checks need; and each source system's first and newest booking day."""
    span = config.check_days + 7 * config.window_weeks
    cur.execute(
        f"""
        with bounds as (
            select source_system, min(booked_date) as first_day, max(booked_date) as newest_day
            from {schema}.fact_transactions where source_system = any(%s) group by source_system
        ),
        tx as (
            select t.source_system, t.booked_date, coalesce(t.channel, 'unknown') as channel,
                   coalesce(p.product_code, 'unknown') as product, abs(coalesce(t.amount_eur, 0)) as amount
            from {schema}.fact_transactions as t
            join bounds as b on t.source_system = b.source_system
            left join {schema}.dim_products as p on t.product_key = p.product_key
            where t.booked_date > b.newest_day - %s
        )
        select source_system, booked_date,
               case when grouping(channel) = 0 then 'channel=' || channel
                    when grouping(product) = 0 then 'product=' || product else 'all' end as segment,
               count(*), sum(amount)
        from tx
        group by grouping sets ((source_system, booked_date), (source_system, booked_date, channel),
                                (source_system, booked_date, product))
        """,
        (list(config.source_systems), span),
    )
    series: dict[tuple[str, str, str], dict[date, tuple[float, float]]] = defaultdict(dict)
    for system, day, segment, count, amount in cur.fetchall():
        series[(system, "volume", segment)][day] = (float(count), float(amount or 0))
    cur.execute(
        f"select source_system, min(booked_date), max(booked_date) from {schema}.fact_transactions "
        "where source_system = any(%s) group by 1",
        (list(config.source_systems),),
    )
    spans = {system: (first, newest) for system, first, newest in cur.fetchall()}
    return dict(series), spans


def read_fraud(cur, schema: str, config: QualityConfig, spans: dict) -> dict[str, dict[date, tuple[int, int]]]:
    """Per source system and booking day: transactions later labelled fraud, and all transactions."""
    span = config.check_days + config.fraud_window_days
    cur.execute(
        f"""
        with frauds as (
            select transaction_key from {schema}.fact_fraud where is_fraud group by transaction_key
        )
        select t.source_system, t.booked_date, count(frauds.transaction_key), count(*)
        from {schema}.fact_transactions as t
        left join frauds on t.transaction_key = frauds.transaction_key
        where t.source_system = any(%s)
        group by 1, 2
        """,
        (list(config.source_systems),),
    )
    daily: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    for system, day, frauds, total in cur.fetchall():
        if system in spans and day > spans[system][1] - timedelta(days=span):
            daily[system][day] = (int(frauds), int(total))
    return dict(daily)


def read_files(cur, run_id: str) -> list[dict[str, Any]]:
    """The landing files tonight's ingest read (monitoring.ingest_files), with the rows staging rejected from each
    (intermediate.int_rejected_rows_unioned) when that model exists."""
    if not _exists(cur, "monitoring.ingest_files"):
        return []
    rejected = "intermediate.int_rejected_rows_unioned"
    count_rejected = (
        f"(select count(*) from {rejected} as r where r.source_file_name = f.file)" if _exists(cur, rejected) else "0"
    )
    cur.execute(
        f"""
        select f.source, f.file, coalesce(f.lines_in, 0), coalesce(f.rows_quarantined, 0), {count_rejected},
               f.recorded_at::date
        from monitoring.ingest_files as f
        where f.run_id = %s and f.source = any(%s) and f.status in ('loaded', 'replaced', 'quarantined')
        """,
        (run_id, list(FILE_SOURCES)),
    )
    files = []
    for source, name, lines_in, quarantined, rejected_rows, loaded_on in cur.fetchall():
        system, _schema, dbt_source = FILE_SOURCES[source]
        entity = name.split("/", 1)[0] if "/" in name else name.split(".", 1)[0]
        files.append({"source_system": system, "file": name, "lines_in": int(lines_in),
                      "quarantined": int(quarantined), "rejected": int(rejected_rows), "loaded_on": loaded_on,
                      "node": f"source.bank_warehouse.{dbt_source}.{entity}"})  # fmt: skip
    return files


def check(conn: Connection, run_id: str, schema: str, config: QualityConfig | None = None,
          owners: OwnerLookup = lambda _node: ()) -> tuple[list[Point], Findings]:  # fmt: skip
    """Check the marts of `schema` and tonight's files, record every point in monitoring.anomalies (committed
    here), and return the points with their alert findings. A schema without the facts (a project that does not
    build them), or whose facts tonight's build did not build, checks the files only."""
    config = config or QualityConfig.from_env()
    with conn, conn.cursor() as cur:
        cur.execute(DDL)
        points: list[Point] = []
        spans: dict[str, tuple[date, date]] = {}
        facts = _exists(cur, f"{schema}.fact_transactions") and _exists(cur, f"{schema}.dim_products")
        if facts and built_tonight(cur, run_id, "fact_transactions"):
            series, spans = read_volumes(cur, schema, config)
            points += volume_points(series, spans, config, "model.bank_warehouse.fact_transactions")
            if _exists(cur, f"{schema}.fact_fraud"):
                daily = read_fraud(cur, schema, config, spans)
                points += fraud_points(daily, spans, config, "model.bank_warehouse.fact_fraud")
        points += rejected_share_points(read_files(cur, run_id), config)
        if points:
            cur.executemany(
                f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({', '.join(['%s'] * len(COLUMNS))}) "
                "on conflict do nothing",
                [tuple(p.row(run_id)[c] for c in COLUMNS) for p in points],
            )
    newest = {system: span[1] for system, span in spans.items()}
    return points, findings_of(points, newest, config, owners)
