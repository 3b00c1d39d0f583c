"""Load the bank API into PostgreSQL (`raw_bank_api`) with the `bank_api` dlt pipeline, and say what was loaded.

The incremental state lives in the pipeline folder and, as dlt does, in the destination dataset: pointing the
pipeline at a database without the dataset starts again from the beginning, so a fresh warehouse gets everything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warehouse import Warehouse
from warehouse.project import project_path

from .api_source import DEFAULT_PAGE_SIZE, bank_api_source, resolve_base_url
from .destination import pipeline_name, postgres_destination
from .raw_tables import ensure_raw_tables

PIPELINE_NAME = "bank_api"
DATASET_NAME = "raw_bank_api"
TABLES = ("survey_responses", "fx_rates")


def _failure_message(exc: BaseException, base_url: str) -> str:
    """One line naming the API and what went wrong, from the innermost cause dlt wrapped."""
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    response = getattr(cause, "response", None)
    status = getattr(response, "status_code", None)
    if status == 401:
        return f"the bank API at {base_url} refused the token (401); set BANKWH_API_TOKEN or sources.bank_api.token"
    if status is not None:
        try:
            reason = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            reason = str(cause).strip()[:300]
        return f"the bank API at {base_url} answered {status} after retries: {reason}"
    name = type(cause).__name__
    if "Connection" in name:
        return f"cannot reach the bank API at {base_url} ({name}); is `bankwh api serve` running?"
    return f"loading the bank API at {base_url} failed: {name}: {str(cause).strip()[:300]}"


def run_api_ingest(
    wh: Warehouse,
    base_url: str | None = None,
    token: str | None = None,
    pipelines_dir: Path | str | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_attempts: int | None = None,
    backoff_factor: float | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fetch what is new from the bank API and merge it into `raw_bank_api`.

    Returns `{"rows": {"survey_responses": n, "fx_rates": m}, "seconds": s, "load_id": id, "dataset": ...}`,
    where the row counts are the rows fetched and merged by this run (0 when nothing is new).
    Raises RuntimeError / ConnectionError with one clear line when the API refuses or cannot be reached.
    """
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # the warehouse does not report usage anywhere
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    started = time.monotonic()
    url = resolve_base_url(base_url)
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name(PIPELINE_NAME, wh),
        destination=postgres_destination(wh),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(pipelines_dir or project_path(".dlt", "pipelines")),
    )
    log(f"bank api: fetching new survey responses and FX rates from {url} into {wh.database}.{DATASET_NAME}")
    source = bank_api_source(url, token, page_size, max_attempts, backoff_factor)
    try:
        info = pipeline.run(source)
    except PipelineStepFailed as exc:
        message = _failure_message(exc, url)
        if message.startswith("cannot reach"):
            raise ConnectionError(message) from exc
        raise RuntimeError(message) from exc
    # an endpoint that returned nothing yet (no survey answers) leaves no table behind; the warehouse needs one
    ensure_raw_tables(wh, log=log)
    normalize = pipeline.last_trace.last_normalize_info
    counts = normalize.row_counts if normalize is not None else {}
    rows = {table: int(counts.get(table, 0)) for table in TABLES}
    summary = {
        "rows": rows,
        "seconds": round(time.monotonic() - started, 3),
        "load_id": info.loads_ids[-1] if info.loads_ids else None,
        "dataset": DATASET_NAME,
    }
    log(
        f"bank api: {rows['survey_responses']} survey responses, {rows['fx_rates']} FX rates "
        f"loaded in {summary['seconds']:.1f}s"
    )
    return summary
