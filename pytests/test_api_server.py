"""The bank API server over real HTTP on 127.0.0.1: pagination, filters, auth, errors, misbehaviour, reloads."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bank_sim.api import start_server, stop_server
from project_root import PROJECT_ROOT

TOKEN = "test-token"
SURVEY_HEADER = [
    "response_id",
    "client_id",
    "survey_date",
    "channel",
    "nps_score",
    "csat_score",
    "comment",
    "answered_at",
]
FX_HEADER = ["rate_date", "currency", "rate_per_eur", "published_at"]
COMMENTS = ["", 'slow, but "friendly"', "Très bien, merci", "app crashed twice"]


def survey_rows(day: date, first: int, count: int) -> list[list[str]]:
    """Rows of one survey delivery; some share an answered_at second (ties order by response_id), file unsorted."""
    rows = []
    for n in range(first, first + count):
        answered = datetime.combine(day, datetime.min.time()) + timedelta(hours=8, seconds=(n * 7919) % 3600)
        if n % 6 == 0:  # the same second as the previous response
            answered = datetime.combine(day, datetime.min.time()) + timedelta(hours=8, seconds=((n - 1) * 7919) % 3600)
        rows.append(
            [
                f"R{n:05d}",
                f"C{n % 7:04d}",
                day.isoformat(),
                ["app", "branch", "web"][n % 3],
                "" if n % 5 == 0 else str(n % 11),
                "" if n % 7 == 0 else str(1 + n % 5),
                COMMENTS[n % len(COMMENTS)],
                answered.isoformat(),
            ]
        )
    return rows[::-1]


def fx_rows(days: list[date]) -> list[list[str]]:
    rows = []
    for i, day in enumerate(days):
        for currency, base in [("USD", "1.04"), ("CZK", "25.1"), ("GBP", "0.83")]:
            rate = Decimal(base) + Decimal(i) / Decimal(1000)
            rows.append([day.isoformat(), currency, str(rate), f"{day.isoformat()}T16:00:00"])
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[str]], mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if mode == "w":
            writer.writerow(header)
        writer.writerows(rows)


def read_csvs(paths: list[Path]) -> list[dict[str, str]]:
    rows = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Two survey deliveries (23 responses) and 4 business days of FX rates (12 rows)."""
    data = tmp_path / "data"
    write_csv(data / "raw/surveys/2025-01-02.csv", SURVEY_HEADER, survey_rows(date(2025, 1, 2), 1, 13))
    write_csv(data / "raw/surveys/2025-01-03.csv", SURVEY_HEADER, survey_rows(date(2025, 1, 3), 14, 10))
    days = [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6), date(2025, 1, 7)]
    write_csv(data / "api/fx_rates.csv", FX_HEADER, fx_rows(days))
    return data


@pytest.fixture
def api(data_dir: Path) -> Iterator[str]:
    server, thread = start_server(data_dir, token=TOKEN)
    yield server.url
    stop_server(server, thread)


def get(url: str, token: str | None = TOKEN, method: str = "GET") -> tuple[int, dict[str, str], dict]:
    request = urllib.request.Request(url, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def all_surveys(base: str, limit: int, since: str | None = None) -> tuple[list[dict], int]:
    """Follow next_cursor to the end; returns the rows and the number of pages."""
    rows: list[dict] = []
    pages = 0
    cursor = None
    while True:
        query = (
            f"limit={limit}" + (f"&updated_since={since}" if since else "") + (f"&cursor={cursor}" if cursor else "")
        )
        status, _, body = get(f"{base}/v1/survey-responses?{query}")
        assert status == 200, body
        pages += 1
        rows.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows, pages


def test_health_answers_without_token(api: str) -> None:
    status, _, body = get(f"{api}/health", token=None)
    assert (status, body) == (200, {"status": "ok"})


def test_survey_cursor_pagination_returns_every_row_once_in_order_with_json_types(api: str, data_dir: Path) -> None:
    expected = read_csvs(sorted((data_dir / "raw/surveys").glob("*.csv")))
    rows, pages = all_surveys(api, limit=4)

    assert pages == math.ceil(len(expected) / 4)
    ids = [r["response_id"] for r in rows]
    assert sorted(ids) == sorted(e["response_id"] for e in expected)
    assert len(ids) == len(set(ids))
    assert [(r["answered_at"], r["response_id"]) for r in rows] == sorted(
        (e["answered_at"], e["response_id"]) for e in expected
    )
    by_id = {e["response_id"]: e for e in expected}
    for row in rows:
        source = by_id[row["response_id"]]
        assert row["nps_score"] == (int(source["nps_score"]) if source["nps_score"] else None)
        assert row["csat_score"] == (int(source["csat_score"]) if source["csat_score"] else None)
        assert row["comment"] == (source["comment"] or None)
        assert row["answered_at"] == source["answered_at"]
        assert row["client_id"] == source["client_id"] and row["survey_date"] == source["survey_date"]
    assert any(isinstance(r["nps_score"], int) for r in rows) and any(r["nps_score"] is None for r in rows)


def test_survey_updated_since_keeps_only_later_answers(api: str, data_dir: Path) -> None:
    expected = read_csvs(sorted((data_dir / "raw/surveys").glob("*.csv")))
    since = sorted(e["answered_at"] for e in expected)[9]
    rows, _ = all_surveys(api, limit=3, since=since)
    assert sorted(r["response_id"] for r in rows) == sorted(
        e["response_id"] for e in expected if e["answered_at"] > since
    )
    # The same instant with an offset is converted to bank time (Paris is UTC+1 in January).
    utc = (datetime.fromisoformat(since) - timedelta(hours=1)).isoformat() + "Z"
    assert all_surveys(api, limit=50, since=utc)[0] == rows


def test_fx_page_pagination_returns_every_row_once_with_numbers(api: str, data_dir: Path) -> None:
    expected = read_csvs([data_dir / "api/fx_rates.csv"])
    status, _, first = get(f"{api}/v1/fx-rates?page_size=5")
    assert status == 200
    assert (first["page"], first["page_size"], first["total"]) == (1, 5, len(expected))
    assert first["total_pages"] == math.ceil(len(expected) / 5)
    rows = list(first["data"])
    for page in range(2, first["total_pages"] + 2):  # one page past the end must be empty
        status, _, body = get(f"{api}/v1/fx-rates?page_size=5&page={page}")
        assert status == 200
        rows.extend(body["data"])
    assert len(rows) == len(expected)
    got = {(r["rate_date"], r["currency"]): r for r in rows}
    assert len(got) == len(expected)
    for e in expected:
        row = got[(e["rate_date"], e["currency"])]
        assert isinstance(row["rate_per_eur"], float)
        assert Decimal(str(row["rate_per_eur"])) == Decimal(e["rate_per_eur"])
        assert row["published_at"] == e["published_at"]


def test_fx_updated_since_filters_on_published_at(api: str, data_dir: Path) -> None:
    expected = read_csvs([data_dir / "api/fx_rates.csv"])
    status, _, body = get(f"{api}/v1/fx-rates?updated_since=2025-01-03T16:00:00&page_size=100")
    assert status == 200
    later = [e for e in expected if e["published_at"] > "2025-01-03T16:00:00"]
    assert body["total"] == len(later) == len(body["data"])
    assert {r["rate_date"] for r in body["data"]} == {"2025-01-06", "2025-01-07"}


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer"],
    ids=["missing", "wrong-token", "wrong-scheme", "empty"],
)
def test_listing_without_a_valid_token_is_401(api: str, header: str | None) -> None:
    request = urllib.request.Request(f"{api}/v1/fx-rates")
    if header is not None:
        request.add_header("Authorization", header)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401
    assert info.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in json.loads(info.value.read())["error"]


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/v1/survey-responses?limit=0", "limit must be between"),
        ("/v1/survey-responses?limit=ten", "limit must be an integer"),
        ("/v1/survey-responses?cursor=not-a-cursor", "cursor"),
        ("/v1/survey-responses?updated_since=yesterday", "updated_since must be an ISO timestamp"),
        ("/v1/survey-responses?update_since=2025-01-01", "unknown parameter(s) update_since"),
        ("/v1/fx-rates?page=0", "page must be between"),
        ("/v1/fx-rates?page_size=5000", "page_size must be between"),
        ("/v1/fx-rates?page=1&page=2", "more than once"),
    ],
)
def test_bad_parameters_are_400_with_a_json_reason(api: str, path: str, fragment: str) -> None:
    status, headers, body = get(api + path)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert fragment in body["error"]


def test_unknown_path_is_404_and_writes_are_405(api: str) -> None:
    status, _, body = get(f"{api}/v1/accounts")
    assert status == 404 and "/v1/survey-responses" in body["error"]
    status, headers, body = get(f"{api}/v1/fx-rates", method="POST")
    assert status == 405 and headers["Allow"] == "GET"


def test_rate_limit_and_failures_every_nth_request(data_dir: Path) -> None:
    server, thread = start_server(data_dir, token=TOKEN, rate_limit_every=3, fail_every=4)
    try:
        statuses = []
        for _ in range(12):
            status, headers, body = get(f"{server.url}/v1/fx-rates")
            statuses.append(status)
            if status == 429:
                assert headers["Retry-After"] == "1" and "rate limit" in body["error"]
        get(f"{server.url}/health")  # health checks are not counted
        statuses.append(get(f"{server.url}/v1/fx-rates")[0])
    finally:
        stop_server(server, thread)
    assert statuses == [200, 200, 429, 503, 200, 429, 200, 503, 429, 200, 200, 429, 200]
    assert server.status_counts == {200: 8, 429: 4, 503: 2}  # the health check is answered too
    assert server.delayed_requests == 0  # no --slow-ms, no delay


def test_slow_pages_still_return_every_row_once(data_dir: Path) -> None:
    server, thread = start_server(data_dir, token=TOKEN, slow_ms=40)
    try:
        rows, pages = all_surveys(server.url, limit=7)
        get(f"{server.url}/health")  # health checks are never held back
    finally:
        stop_server(server, thread)
    expected = read_csvs(sorted((data_dir / "raw/surveys").glob("*.csv")))
    assert sorted(r["response_id"] for r in rows) == sorted(e["response_id"] for e in expected)
    # every page went through the delay: the switch did something, and only to API requests
    assert pages > 1 and server.delayed_requests == pages
    assert server.status_counts == {200: pages + 1}


def test_files_are_reloaded_when_the_generator_appends(api: str, data_dir: Path) -> None:
    before, _ = all_surveys(api, limit=100)
    write_csv(data_dir / "raw/surveys/2025-01-06.csv", SURVEY_HEADER, survey_rows(date(2025, 1, 6), 24, 5))
    after, _ = all_surveys(api, limit=100)
    assert len(after) == len(before) + 5
    assert {r["response_id"] for r in after} - {r["response_id"] for r in before} == {
        f"R{n:05d}" for n in range(24, 29)
    }

    fx_path = data_dir / "api/fx_rates.csv"
    total = get(f"{api}/v1/fx-rates")[2]["total"]
    write_csv(fx_path, FX_HEADER, fx_rows([date(2025, 1, 8)]), mode="a")
    with fx_path.open("a", encoding="utf-8") as handle:  # a line still being written: no LF yet
        handle.write("2025-01-08,CHF,0.9")
    assert get(f"{api}/v1/fx-rates")[2]["total"] == total + 3
    with fx_path.open("a", encoding="utf-8") as handle:
        handle.write("41,2025-01-08T16:00:00\n")
    body = get(f"{api}/v1/fx-rates?updated_since=2025-01-07T16:00:00")[2]
    assert body["total"] == 4
    assert {
        "rate_date": "2025-01-08",
        "currency": "CHF",
        "rate_per_eur": 0.941,
        "published_at": "2025-01-08T16:00:00",
    } in (body["data"])


def test_invalid_backing_data_is_500_naming_file_line_and_rule(api: str, data_dir: Path) -> None:
    write_csv(
        data_dir / "raw/surveys/2025-01-06.csv",
        SURVEY_HEADER,
        [["R90001", "C1", "2025-01-06", "app", "nine", "4", "", "2025-01-06T09:00:00"]],
    )
    status, _, body = get(f"{api}/v1/survey-responses")
    assert status == 500
    assert "surveys/2025-01-06.csv line 2" in body["error"] and "nps_score 'nine' is not an integer" in body["error"]


def test_cli_serves_until_stopped(data_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bankwh.cli", "api", "serve", "--port", "0", "--data", str(data_dir)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "BANKWH_API_TOKEN": "cli-token"},
    )
    try:
        banner = process.stdout.readline()
        assert "bank API serving" in banner, banner + process.stderr.read()
        url = banner.split(" at ")[1].split()[0]
        status, _, body = get(f"{url}/v1/fx-rates?page_size=1", token="cli-token")
        assert status == 200 and body["total"] == 12
        assert get(f"{url}/v1/fx-rates", token=TOKEN)[0] == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert '"GET /v1/fx-rates?page_size=1" 200' in process.stderr.read()


def test_cli_help_lists_the_misbehaviour_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bankwh.cli", "api", "serve", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--port", "--data", "--token", "--slow-ms", "--rate-limit-every", "--fail-every", "--quiet"):
        assert option in result.stdout
