"""Anomalies (monitoring/anomalies.py): the checks on plain series, then a volume drop planted in the generated bank
and caught by the real night (test_reconciliation.quality_night), while a normal weekend is not flagged."""

from __future__ import annotations

from datetime import date, timedelta

from test_reconciliation import DROP_DAY, QualityNight, quality_night  # noqa: F401  (the shared night)

from monitoring import anomalies
from monitoring.config import AlertConfigError, QualityConfig
from monitoring.findings import Owner

MONDAY = date(2025, 3, 3)
WEEKDAY_ROWS, SUNDAY_ROWS, DROP = 150.0, 60.0, MONDAY + timedelta(days=37)  # a Wednesday


def _series(drop_to: float) -> tuple[dict, dict]:
    """Six weeks of a bank whose Sundays are 40 % of a weekday, with one Wednesday at `drop_to` rows; EUR 10 a row."""
    days = {}
    for n in range(42):
        day = MONDAY + timedelta(days=n)
        rows = SUNDAY_ROWS if day.weekday() == 6 else WEEKDAY_ROWS + (n % 3) * 5
        rows = drop_to if day == DROP else rows
        days[day] = (rows, rows * 10)
    return {("core_banking", "volume", "all"): days}, {"core_banking": (MONDAY, MONDAY + timedelta(days=41))}


def test_a_dropped_weekday_is_flagged_and_sundays_are_compared_with_sundays() -> None:
    series, spans = _series(drop_to=30)
    points = anomalies.volume_points(series, spans, QualityConfig(), "model.bank_warehouse.fact_transactions")
    by_day = {(p.metric, p.day): p for p in points}
    drop = by_day[(anomalies.COUNT, DROP)]
    assert drop.is_anomaly and drop.value == 30 and drop.expected_low > 30 and drop.history_points == 5
    assert by_day[(anomalies.AMOUNT, DROP)].is_anomaly
    sundays = [p for p in points if p.day.weekday() == 6 and p.metric == anomalies.COUNT]
    assert sundays and not any(p.is_anomaly for p in sundays)
    weekday_low = min(p.expected_low for p in points if p.day.weekday() < 5 and p.metric == anomalies.COUNT)
    assert all(p.value < weekday_low for p in sundays)  # a window blind to weekdays would flag every Sunday
    assert [p for p in points if p.is_anomaly and p.day != DROP] == []
    assert drop.describe() == (
        f"transaction_count all (core_banking) on {DROP:%Y-%m-%d} (Wednesday): 30, "
        f"expected {drop.expected_low:,.0f} to {drop.expected_high:,.0f}; 5 earlier Wednesdays"
    )


def test_thresholds_come_from_the_environment_and_drive_the_verdict() -> None:
    series, spans = _series(drop_to=80)
    flagged = anomalies.volume_points(series, spans, QualityConfig(), "n")
    lenient = QualityConfig.from_env({"BANKWH_QUALITY_COUNT_TOLERANCE": "0.5", "BANKWH_QUALITY_SIGMAS": "2"})
    assert lenient.count_tolerance == 0.5 and lenient.window_weeks == QualityConfig().window_weeks
    relaxed = anomalies.volume_points(series, spans, lenient, "n")
    verdict = {p.day: p.is_anomaly for p in flagged if p.metric == anomalies.COUNT}
    assert verdict[DROP] and not {p.day: p.is_anomaly for p in relaxed if p.metric == anomalies.COUNT}[DROP]
    for bad in ({"BANKWH_QUALITY_SIGMA": "2"}, {"BANKWH_QUALITY_SIGMAS": "many"}, {"BANKWH_QUALITY_WINDOW_WEEKS": "0"}):
        try:
            QualityConfig.from_env(bad)
        except AlertConfigError as error:
            assert "BANKWH_QUALITY_" in str(error)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_only_recent_anomalies_alert_and_a_clean_key_passes() -> None:
    series, spans = _series(drop_to=40)
    points = anomalies.volume_points(series, spans, QualityConfig(), "model.x")
    owner = (Owner("Warehouse", "dw@example.org"),)
    newest = {"core_banking": spans["core_banking"][1]}
    late = anomalies.findings_of(points, {"core_banking": DROP + timedelta(days=1)}, QualityConfig(), lambda _: owner)
    (finding,) = late.failures
    assert finding.unique_id == "anomaly.core_banking.transaction_count.all" and finding.owners == owner
    assert f"on {DROP:%Y-%m-%d}" in finding.message and "expected" in finding.message
    quiet = anomalies.findings_of(points, newest, QualityConfig(), lambda _: owner)  # the drop is weeks old now
    assert quiet.failures == () and "anomaly.core_banking.transaction_count.all" in quiet.passed


def test_planted_volume_drop_is_flagged_and_a_normal_weekend_is_not(quality_night: QualityNight) -> None:  # noqa: F811
    """The real night: the Wednesday that lost 80 % of its everyday activity is an anomaly (overall and on the card
    channel), recorded with its expected range and alerted; the weekend before it is checked and is not."""
    night = quality_night
    rows = night.rows(
        "select metric, segment, day, value, expected_low, expected_high, is_anomaly from monitoring.anomalies "
        "where run_id = %s and source_system = 'core_banking'",
        night.run_id,
    )
    points = {(m, s, d): (v, lo, hi, bad) for m, s, d, v, lo, hi, bad in rows}
    drop = date.fromisoformat(DROP_DAY)
    value, low, high, bad = points[(anomalies.COUNT, "all", drop)]
    assert bad and value < low <= high
    assert points[(anomalies.COUNT, "channel=card_pos", drop)][3]
    for day in (drop - timedelta(days=4), drop - timedelta(days=3)):  # Saturday and Sunday
        for metric in (anomalies.COUNT, anomalies.AMOUNT):
            assert points[(metric, "all", day)][3] is False, (metric, day, points[(metric, "all", day)])
    sunday = points[(anomalies.COUNT, "all", drop - timedelta(days=3))]
    assert sunday[0] < points[(anomalies.COUNT, "all", drop + timedelta(days=1))][1]  # below a Thursday's low
    assert len(rows) == night.summary["quality"]["points"] and sum(not r[6] for r in rows) > len(rows) // 2
    assert {m for m, *_ in rows} >= {anomalies.COUNT, anomalies.AMOUNT, anomalies.FRAUD_RATE, anomalies.REJECTED_SHARE}
    files = [r for r in rows if r[0] == anomalies.REJECTED_SHARE]
    assert any(r[1].startswith("transactions/") and r[3] > 0 for r in files)  # the defects were measured per file
    alert = next(b for b in night.webhook if "transaction_count all (core_banking)" in b)
    assert "NEW FAILURE" in alert and f"on {DROP_DAY} (Wednesday): {value:,.0f}, expected {low:,.0f} to" in alert
    assert "owned by Bank warehouse team <data-warehouse@example.org>" in alert  # fact_transactions' group owner


def test_rejected_share_per_file_counts_a_file_named_no_calendar_day_on_its_load_day() -> None:
    loaded = date(2025, 3, 4)
    files = [
        {"source_system": "core_banking", "file": "transactions/2025-03-03.csv", "loaded_on": loaded,
         "lines_in": 200, "quarantined": 2, "rejected": 8, "node": "model.x"},
        {"source_system": "core_banking", "file": "transactions/2025-02-31.csv", "loaded_on": loaded,
         "lines_in": 10, "quarantined": 10, "rejected": 0, "node": "model.x"},
    ]  # fmt: skip
    clean, whole = anomalies.rejected_share_points(files, QualityConfig(rejected_share_max=0.1))
    assert (clean.day, clean.value, clean.is_anomaly) == (date(2025, 3, 3), 0.05, False)
    assert (whole.segment, whole.day, whole.value) == ("transactions/2025-02-31.csv", loaded, 1.0)
    assert whole.is_anomaly
