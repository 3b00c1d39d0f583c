"""The two listing endpoints as pure functions: parameters in, one page of JSON out.

Surveys use keyset (cursor) pagination over (answered_at, response_id), so rows appended while a client pages
never shift or repeat what it already read. FX rates use page numbers over (published_at, rate_date, currency),
which keeps earlier pages stable for the same reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from bisect import bisect_right
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from .store import Table

BANK_TIME = ZoneInfo("Europe/Paris")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class BadRequest(ValueError):
    """A client error answered with 400 and this message."""


def parse_params(query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """Query parameters, each at most once; unknown names are refused so a typo never silently widens a query."""
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise BadRequest(f"malformed query string: {exc}") from None
    unknown = sorted(set(parsed) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise BadRequest(f"parameter(s) given more than once: {', '.join(repeated)}")
    return {name: values[0] for name, values in parsed.items()}


def parse_int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in params:
        return default
    try:
        value = int(params[name])
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {params[name]!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
    return value


def parse_since(params: dict[str, str]) -> str | None:
    """`updated_since` as a bank-time wall clock string comparable with the data's timestamps.

    A value with an offset (`Z`, `+01:00`) is converted to bank time (Europe/Paris) first; a value without one is
    already bank time, like every timestamp the API delivers.
    """
    value = params.get("updated_since")
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"updated_since must be an ISO timestamp (YYYY-MM-DDTHH:MM:SS), got {value!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(BANK_TIME).replace(tzinfo=None)
    return parsed.isoformat()


def encode_cursor(key: tuple[str, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise BadRequest("cursor is not one this API issued (use next_cursor from the previous page)") from None
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(part, str) for part in key)):
        raise BadRequest("cursor is not one this API issued (use next_cursor from the previous page)")
    return key[0], key[1]


def survey_page(table: Table, query: str) -> dict[str, Any]:
    """`GET /v1/survey-responses`: rows with answered_at > updated_since, after the cursor, `limit` at most."""
    params = parse_params(query, ("updated_since", "limit", "cursor"))
    since = parse_since(params)
    limit = parse_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    start = 0 if since is None else bisect_right(table.keys, since, key=lambda k: k[0])
    if params.get("cursor"):
        start = max(start, bisect_right(table.keys, decode_cursor(params["cursor"])))
    end = min(start + limit, len(table.rows))
    next_cursor = encode_cursor(table.keys[end - 1]) if end < len(table.rows) else None
    return {"data": table.rows[start:end], "next_cursor": next_cursor}


def fx_page(table: Table, query: str) -> dict[str, Any]:
    """`GET /v1/fx-rates`: rows with published_at > updated_since, page `page` of `page_size`."""
    params = parse_params(query, ("updated_since", "page", "page_size"))
    since = parse_since(params)
    page = parse_int(params, "page", 1, 1, 10**9)
    page_size = parse_int(params, "page_size", DEFAULT_LIMIT, 1, MAX_LIMIT)
    start = 0 if since is None else bisect_right(table.keys, since, key=lambda k: k[0])
    total = len(table.rows) - start
    first = start + (page - 1) * page_size
    return {
        "data": table.rows[first : first + page_size],
        "page": page,
        "page_size": page_size,
        "total_pages": math.ceil(total / page_size),
        "total": total,
    }
