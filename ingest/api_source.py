"""The dlt source for the bank's HTTP API, declared with dlt's REST API support (`dlt.sources.rest_api`).

Two resources, both merged on their primary key and loaded incrementally: dlt keeps the highest timestamp seen in
the pipeline state and sends it back as `updated_since`, so a run fetches only what the bank published since the
last one. Timestamps are bank wall-clock time without offset and are typed `timestamp` without time zone, so the
raw layer keeps exactly what the bank delivered. Rate limits (429 with Retry-After) and server errors (5xx) are
retried with exponential backoff by dlt's requests client.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources.helpers.requests import Client, Session
from dlt.sources.rest_api import RESTAPIConfig, rest_api_source

SOURCE_NAME = "bank_api"
DEFAULT_BASE_URL = "http://127.0.0.1:8765"
DEFAULT_TOKEN = "demo-token"
DEFAULT_PAGE_SIZE = 500
#: Start of the incremental window on the very first run: before any bank data.
EPOCH = "1970-01-01T00:00:00"

# Column types in the contract's order (hinted columns come first in the table, so the order is kept).
# Timestamps are bank wall-clock time without offset: `timestamp` without time zone keeps them as delivered.
BANK_TIMESTAMP: dict[str, Any] = {"data_type": "timestamp", "timezone": False}
LOADED_AT: dict[str, Any] = {"data_type": "timestamp", "timezone": True}
SURVEY_COLUMNS: dict[str, dict[str, Any]] = {
    "response_id": {"data_type": "text", "nullable": False},
    "client_id": {"data_type": "text"},
    "survey_date": {"data_type": "date"},
    "channel": {"data_type": "text"},
    "nps_score": {"data_type": "bigint"},
    "csat_score": {"data_type": "bigint"},
    "comment": {"data_type": "text"},
    "answered_at": BANK_TIMESTAMP,
    "_loaded_at": LOADED_AT,
}
FX_COLUMNS: dict[str, dict[str, Any]] = {
    "rate_date": {"data_type": "date", "nullable": False},
    "currency": {"data_type": "text", "nullable": False},
    "rate_per_eur": {"data_type": "double"},
    "published_at": BANK_TIMESTAMP,
    "_loaded_at": LOADED_AT,
}


def resolve_base_url(base_url: str | None = None) -> str:
    """Explicit value, else `BANKWH_API_URL`, else dlt config `sources.bank_api.base_url`, else the local default."""
    url = base_url or os.environ.get("BANKWH_API_URL") or dlt.config.get(f"sources.{SOURCE_NAME}.base_url", str)
    return (url or DEFAULT_BASE_URL).rstrip("/")


def resolve_token(token: str | None = None) -> str:
    """Explicit value, else `BANKWH_API_TOKEN`, else dlt secret `sources.bank_api.token`
    (`SOURCES__BANK_API__TOKEN` or .dlt/secrets.toml), else the demo token the simulated bank accepts."""
    value = token or os.environ.get("BANKWH_API_TOKEN") or dlt.secrets.get(f"sources.{SOURCE_NAME}.token", str)
    return value or DEFAULT_TOKEN


def retrying_session(
    max_attempts: int | None = None, backoff_factor: float | None = None, timeout: float = 30
) -> Session:
    """A requests session that retries 429/5xx and dropped connections, honouring Retry-After.

    Settings come from the arguments, else dlt's `runtime.request_max_attempts` / `runtime.request_backoff_factor`
    (e.g. `RUNTIME__REQUEST_MAX_ATTEMPTS`), else 6 attempts with a 0.5 s backoff factor (0.5, 1, 2, 4, 8 s).
    """
    attempts = max_attempts or dlt.config.get("runtime.request_max_attempts", int) or 6
    backoff = backoff_factor if backoff_factor is not None else dlt.config.get("runtime.request_backoff_factor", float)
    client = Client(
        request_timeout=timeout,
        raise_for_status=False,  # the REST client decides what an error is, after the retries
        request_max_attempts=attempts,
        request_backoff_factor=0.5 if backoff is None else backoff,
        request_max_retry_delay=30,
        respect_retry_after_header=True,
    )
    return client.session


def _stamp(loaded_at: datetime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def add(record: dict[str, Any]) -> dict[str, Any]:
        record["_loaded_at"] = loaded_at
        return record

    return add


def api_config(base_url: str, token: str, session: Session, page_size: int, loaded_at: datetime) -> RESTAPIConfig:
    """The REST API declaration: the contract's two endpoints, their paginators and incremental cursors."""
    stamp = _stamp(loaded_at)
    return {
        "client": {
            "base_url": base_url + "/",
            "auth": {"type": "bearer", "token": token},
            "session": session,
        },
        "resource_defaults": {
            "write_disposition": "merge",
            "endpoint": {"data_selector": "data"},
        },
        "resources": [
            {
                "name": "survey_responses",
                "primary_key": "response_id",
                "columns": SURVEY_COLUMNS,
                "endpoint": {
                    "path": "v1/survey-responses",
                    "params": {"limit": page_size},
                    "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"},
                    "incremental": {
                        "cursor_path": "answered_at",
                        "start_param": "updated_since",
                        "initial_value": EPOCH,
                    },
                },
                "processing_steps": [{"map": stamp}],
            },
            {
                "name": "fx_rates",
                "primary_key": ["rate_date", "currency"],
                "columns": FX_COLUMNS,
                "endpoint": {
                    "path": "v1/fx-rates",
                    "params": {"page_size": page_size},
                    "paginator": {
                        "type": "page_number",
                        "base_page": 1,
                        "page_param": "page",
                        "total_path": "total_pages",
                    },
                    "incremental": {
                        "cursor_path": "published_at",
                        "start_param": "updated_since",
                        "initial_value": EPOCH,
                    },
                },
                "processing_steps": [{"map": stamp}],
            },
        ],
    }


def bank_api_source(
    base_url: str | None = None,
    token: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_attempts: int | None = None,
    backoff_factor: float | None = None,
):
    """The `bank_api` dlt source (resources `survey_responses`, `fx_rates`)."""
    config = api_config(
        resolve_base_url(base_url),
        resolve_token(token),
        retrying_session(max_attempts, backoff_factor),
        page_size,
        datetime.now(UTC),
    )
    return rest_api_source(config, name=SOURCE_NAME)
