"""When a nightly step is worth retrying: only errors that can heal by waiting, decided by exception type.

Why by type and status code and not by the message's words: a message that happens to say "timeout" or "503"
must not turn a programming error into three retries, and a real lost connection must not depend on wording.
"""

from __future__ import annotations

from prefect.tasks import exponential_backoff

#: HTTP statuses that heal by waiting: too many requests, and the 5xx of a server restarting or overloaded.
TRANSIENT_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (dlt wraps a step's error in PipelineStepFailed, psycopg2 in dbt's)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or getattr(current, "exception", None)
    return seen


def is_transient(exc: BaseException) -> bool:
    """True for errors that can heal by waiting: a lost or refused database connection, a network error or
    timeout, an HTTP 429/5xx answer. Decided by exception type and status code, never by the message's words."""
    import psycopg2
    import requests

    for cause in _causes(exc):
        if isinstance(cause, psycopg2.OperationalError | ConnectionError | TimeoutError):
            return True
        if isinstance(cause, requests.ConnectionError | requests.Timeout):
            return True
        response = getattr(cause, "response", None)
        if isinstance(cause, requests.HTTPError) and response is not None:
            return response.status_code in TRANSIENT_HTTP_STATUSES
    return False


def retry_if_transient(task_obj, task_run, state) -> bool:
    """Prefect retry condition: retry only what `is_transient` calls transient."""
    try:
        state.result()
    except Exception as exc:  # the task's own exception, re-raised by result()
        return is_transient(exc)
    return False


def retry_if_connection_lost(task_obj, task_run, state) -> bool:
    """Retry the Delta export only when the database connection failed (psycopg2.OperationalError: refused, reset,
    server restarting). A parity mismatch or a changed mart schema fails the same way every time: no retry."""
    import psycopg2

    try:
        state.result()
    except psycopg2.OperationalError:
        return True
    except Exception:  # the export's own verdict (ParityError, SchemaChangeError via ExportError) or a bug
        return False
    return False


BACKOFF = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=10),
    "retry_jitter_factor": 0.2,
}
#: Task options of the transient steps (connection, ingest) and of the steps that only retry a lost connection.
RETRY = {**BACKOFF, "retry_condition_fn": retry_if_transient}
RETRY_DB = {**BACKOFF, "retry_condition_fn": retry_if_connection_lost}
