"""The dlt REST API source against a real bank API server on 127.0.0.1 and a real PostgreSQL database."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bank_sim.api import BankApiServer, start_server, stop_server
from ingest.api_pipeline import run_api_ingest
from warehouse import Warehouse

TOKEN = "ingest-token"
SURVEY_HEADER = "response_id,client_id,survey_date,channel,nps_score,csat_score,comment,answered_at"
FX_HEADER = "rate_date,currency,rate_per_eur,published_at"
FAST = {"page_size": 4, "backoff_factor": 0.05}  # small pages so every run crosses several; quick retries


def write_surveys(path: Path, day: date, first: int, count: int) -> None:
    """One survey delivery; two responses share each answered_at second, so the cursor must break ties."""
    lines = [SURVEY_HEADER]
    for n in range(first, first + count):
        answered = datetime.combine(day, datetime.min.time()) + timedelta(hours=9, minutes=n // 2)
        nps = "" if n % 5 == 0 else str(n % 11)
        comment = '"late, but ""kind"""' if n % 4 == 0 else ""
        lines.append(f"S{n:04d},C{n % 9:03d},{day},app,{nps},{1 + n % 5},{comment},{answered.isoformat()}")
    body = lines[:0:-1]  # the data lines, unsorted (newest first)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")


def append_fx(path: Path, days: list[date]) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        if new:
            handle.write(FX_HEADER + "\n")
        for i, day in enumerate(days):
            for currency, base in [("USD", "1.0412"), ("CZK", "25.187"), ("PLN", "4.2703")]:
                handle.write(f"{day},{currency},{Decimal(base) + Decimal(i) / 100},{day}T16:00:00\n")


def csv_rows(paths: list[Path]) -> list[dict[str, str]]:
    rows = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    write_surveys(data / "raw/surveys/2025-01-02.csv", date(2025, 1, 2), 1, 11)
    write_surveys(data / "raw/surveys/2025-01-03.csv", date(2025, 1, 3), 12, 9)
    append_fx(data / "api/fx_rates.csv", [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)])
    return data


@pytest.fixture
def api(data_dir: Path) -> Iterator[BankApiServer]:
    server, thread = start_server(data_dir, token=TOKEN)
    yield server
    stop_server(server, thread)


def loaded(wh: Warehouse, table: str, columns: str) -> list[tuple]:
    with wh.cursor() as cur:
        cur.execute(f"select {columns} from raw_bank_api.{table} order by 1, 2")
        return cur.fetchall()


def expected_surveys(data_dir: Path) -> list[tuple]:
    rows = csv_rows(sorted((data_dir / "raw/surveys").glob("*.csv")))
    return sorted(
        (
            r["response_id"],
            r["client_id"],
            date.fromisoformat(r["survey_date"]),
            int(r["nps_score"]) if r["nps_score"] else None,
            int(r["csat_score"]),
            r["comment"] or None,
            datetime.fromisoformat(r["answered_at"]),
        )
        for r in rows
    )


def expected_fx(data_dir: Path) -> list[tuple]:
    rows = csv_rows([data_dir / "api/fx_rates.csv"])
    return sorted(
        (date.fromisoformat(r["rate_date"]), r["currency"], Decimal(r["rate_per_eur"]), r["published_at"]) for r in rows
    )


def assert_raw_equals_files(wh: Warehouse, data_dir: Path) -> None:
    surveys = loaded(
        wh, "survey_responses", "response_id, client_id, survey_date, nps_score, csat_score, comment, answered_at"
    )
    assert surveys == expected_surveys(data_dir)
    fx = [
        (d, c, Decimal(str(rate)), ts.isoformat())
        for d, c, rate, ts in loaded(wh, "fx_rates", "rate_date, currency, rate_per_eur, published_at")
    ]
    assert fx == expected_fx(data_dir)


def test_first_run_loads_every_row_once_then_only_new_rows(
    api: BankApiServer, data_dir: Path, fresh_db: Warehouse, tmp_path: Path
) -> None:
    pipelines = tmp_path / "pipelines"
    first = run_api_ingest(fresh_db, api.url, TOKEN, pipelines, **FAST, log=lambda _: None)
    assert first["rows"] == {"survey_responses": 20, "fx_rates": 9}
    assert_raw_equals_files(fresh_db, data_dir)
    with fresh_db.cursor() as cur:
        cur.execute(
            "select count(distinct _loaded_at), count(*) filter (where _loaded_at is null) from raw_bank_api.fx_rates"
        )
        assert cur.fetchone() == (1, 0)
        cur.execute(
            "select data_type from information_schema.columns "
            "where table_schema = 'raw_bank_api' and table_name = 'survey_responses' and column_name = 'answered_at'"
        )
        assert cur.fetchone() == ("timestamp without time zone",)

    again = run_api_ingest(fresh_db, api.url, TOKEN, pipelines, **FAST, log=lambda _: None)
    assert again["rows"] == {"survey_responses": 0, "fx_rates": 0}
    assert_raw_equals_files(fresh_db, data_dir)

    write_surveys(data_dir / "raw/surveys/2025-01-06.csv", date(2025, 1, 6), 21, 6)
    append_fx(data_dir / "api/fx_rates.csv", [date(2025, 1, 7)])
    requests_before = sum(api.status_counts.values())
    third = run_api_ingest(fresh_db, api.url, TOKEN, pipelines, **FAST, log=lambda _: None)
    assert third["rows"] == {"survey_responses": 6, "fx_rates": 3}
    assert sum(api.status_counts.values()) - requests_before == 2 + 1  # 6 rows in 2 pages of 4, 3 rates in 1
    assert_raw_equals_files(fresh_db, data_dir)
    with fresh_db.cursor() as cur:
        cur.execute(
            "select count(distinct _dlt_load_id) from raw_bank_api.survey_responses where response_id >= 'S0021'"
        )
        assert cur.fetchone() == (1,)


def test_rate_limits_failures_and_slow_pages_are_retried_without_loss(
    data_dir: Path, fresh_db: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, thread = start_server(data_dir, token=TOKEN, slow_ms=20, rate_limit_every=4, fail_every=3)
    # Token and URL from the environment: dlt's secret name and the project's URL variable.
    monkeypatch.delenv("BANKWH_API_TOKEN", raising=False)
    monkeypatch.setenv("SOURCES__BANK_API__TOKEN", TOKEN)
    monkeypatch.setenv("BANKWH_API_URL", server.url)
    try:
        summary = run_api_ingest(fresh_db, None, None, tmp_path / "pipelines", **FAST, log=lambda _: None)
    finally:
        stop_server(server, thread)
    assert server.status_counts[429] >= 2 and server.status_counts[503] >= 2
    assert summary["rows"] == {"survey_responses": 20, "fx_rates": 9}
    assert_raw_equals_files(fresh_db, data_dir)


def test_a_wrong_token_fails_with_a_clear_error(api: BankApiServer, fresh_db: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"refused the token \(401\)"):
        run_api_ingest(fresh_db, api.url, "not-the-token", tmp_path / "pipelines", **FAST, log=lambda _: None)
    assert api.status_counts[401] >= 1 and api.status_counts[200] == 0


def test_invalid_data_at_the_bank_fails_naming_file_and_line(
    api: BankApiServer, data_dir: Path, fresh_db: Warehouse, tmp_path: Path
) -> None:
    path = data_dir / "raw/surveys/2025-01-06.csv"
    path.write_text(SURVEY_HEADER + "\nS0100,C001,2025-01-06,app,7,5,,06/01/2025 10:00\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"answered 500 after retries: .*surveys/2025-01-06.csv line 2: answered_at"):
        run_api_ingest(fresh_db, api.url, TOKEN, tmp_path / "pipelines", max_attempts=2, **FAST, log=lambda _: None)
    assert api.status_counts[500] >= 2  # retried before giving up


def test_an_unreachable_api_fails_with_a_clear_error(data_dir: Path, fresh_db: Warehouse, tmp_path: Path) -> None:
    server, thread = start_server(data_dir, token=TOKEN)
    url = server.url
    stop_server(server, thread)  # the port is free again: nothing answers there
    with pytest.raises(ConnectionError, match="cannot reach the bank API at " + url):
        run_api_ingest(fresh_db, url, TOKEN, tmp_path / "pipelines", max_attempts=2, **FAST, log=lambda _: None)
