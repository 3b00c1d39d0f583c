"""The Prefect API for a command that runs a flow in this process: the configured server, or a temporary local one.

Why this module: Prefect starts its temporary server lazily with a 20 s limit, which a loaded machine misses
("Timed out while attempting to connect to ephemeral Prefect API server"), and stops it from an exit hook while
other threads may still be reporting. Here it starts up front with a generous limit and one retry, says what it is
waiting for, and stops in order (queued events and logs delivered first) before the command returns.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Seconds a temporary server may take to answer (BANKWH_PREFECT_START_TIMEOUT_S overrides).
START_TIMEOUT_S = 180
START_ATTEMPTS = 2
#: The servers `start` started, which `stop` stops.
_STARTED: list = []


def quiet_defaults() -> None:
    """No telemetry from a one-off run."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def start(log: Callable[[str], None] = print) -> str | None:
    """Start Prefect's temporary server unless PREFECT_API_URL names one; returns its API URL (None: configured)."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    from prefect.server.api.server import SubprocessASGIServer

    timeout = max(1, int(float(os.environ.get("BANKWH_PREFECT_START_TIMEOUT_S", START_TIMEOUT_S))))
    for attempt in range(1, START_ATTEMPTS + 1):
        server = SubprocessASGIServer()  # the instance Prefect's client uses too (one per process)
        if server.running:  # started by someone else in this process (a test harness): theirs to stop
            return server.api_url
        log(f"starting a temporary Prefect server (no PREFECT_API_URL); waiting up to {timeout} s for it to answer"
            + (f", attempt {attempt} of {START_ATTEMPTS}" if attempt > 1 else ""))  # fmt: skip
        try:
            with _child_output_to(_server_log()):
                server.start(timeout=timeout)
            _STARTED.append(server)
            return server.api_url
        except RuntimeError as exc:
            _stop_process(server)
            if attempt == START_ATTEMPTS:
                raise RuntimeError(
                    f"the temporary Prefect server did not answer within {timeout} s ({START_ATTEMPTS} attempts); "
                    "raise BANKWH_PREFECT_START_TIMEOUT_S on a slow machine or set PREFECT_API_URL"
                ) from exc
    return None


def _server_log() -> Path:
    """Where the temporary server's own output goes: the project's logs/, else PREFECT_HOME."""
    from warehouse.project import ProjectNotFoundError, project_dir

    try:
        folder = project_dir() / "logs"
    except ProjectNotFoundError:
        folder = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "prefect-server.log"


@contextmanager
def _child_output_to(path: Path) -> Iterator[None]:
    """Processes started inside write their stdout and stderr to `path`; this process's own are given back after.

    Why: Prefect starts its server as a child that inherits the command's terminal, so the server's access errors
    and its shutdown noise (tracebacks of requests cancelled when it is stopped) would land in the command's
    output after the run's verdict. The server's output belongs in a log file.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _stop_process(server) -> None:
    process = getattr(server, "server_process", None)
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except Exception:
            process.kill()
    server.running = False


def drain(timeout_s: float = 30) -> None:
    """Deliver the run's last events and log lines while the server is still up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        try:
            worker.drain_all(timeout=timeout_s)
        except Exception as exc:  # run telemetry must not turn a good run into a failed command
            print(f"note: Prefect {worker.__name__} did not drain: {exc}", file=sys.stderr)


def stop() -> None:
    """Drain, then stop the temporary server (if this process started one). Safe to call more than once."""
    drain()
    while _STARTED:
        _STARTED.pop().stop()
