"""The bank's HTTP API: a stdlib ThreadingHTTPServer, so the simulated bank needs no web framework.

Routing, bearer auth, JSON errors and the misbehaviour switches (slow pages, 429, 503) live here; what a page
contains is decided in `queries`, where the data comes from in `store`.
"""

from __future__ import annotations

import hmac
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import queries, store

DEFAULT_TOKEN = "demo-token"
DEFAULT_PORT = 8765


@dataclass(frozen=True)
class Behaviour:
    """How badly the API behaves, for testing clients: 0 switches a misbehaviour off."""

    slow_ms: int = 0
    rate_limit_every: int = 0
    fail_every: int = 0


class BankApiServer(ThreadingHTTPServer):
    """The HTTP server plus the state its handlers share: data tables, token, behaviour, request counter."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], data_dir: Path, token: str, behaviour: Behaviour, quiet: bool):
        self.data_dir = data_dir
        self.token = token
        self.behaviour = behaviour
        self.quiet = quiet
        self.surveys = store.survey_table(data_dir, self.log)
        self.fx_rates = store.fx_table(data_dir, self.log)
        self.status_counts: Counter[int] = Counter()  # answers given so far, by HTTP status
        self.delayed_requests = 0  # requests held back by `behaviour.slow_ms` so far
        self._counter = 0
        self._counter_lock = threading.Lock()
        super().__init__(address, BankApiHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"bank api: {message}", file=sys.stderr, flush=True)

    def count_status(self, status: int) -> None:
        with self._counter_lock:
            self.status_counts[status] += 1

    def count_delay(self) -> None:
        with self._counter_lock:
            self.delayed_requests += 1

    def next_request_number(self) -> int:
        """1-based number of this API request (health checks excluded), shared by all handler threads."""
        with self._counter_lock:
            self._counter += 1
            return self._counter


class BankApiHandler(BaseHTTPRequestHandler):
    server: BankApiServer
    server_version = "BankSimAPI/1.0"
    error_content_type = "application/json"
    error_message_format = '{"error": "%(message)s"}'

    def do_GET(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        try:
            status, body, headers = self._route(url.path, url.query)
        except store.DataError as exc:
            # The backing files break the contract: say which line, and let the client retry later.
            status, body, headers = 500, {"error": f"backing data is invalid: {exc}"}, {}
        self._send_json(status, body, headers)
        self.server.count_status(status)
        elapsed_ms = (time.monotonic() - started) * 1000
        self.server.log(f'{self.client_address[0]} "GET {self.path}" {status} {elapsed_ms:.0f}ms')

    def _refuse_method(self) -> None:
        self._send_json(
            405, {"error": f"method {self.command} not allowed; the API is read-only (GET)"}, {"Allow": "GET"}
        )
        self.server.count_status(405)
        self.server.log(f'{self.client_address[0]} "{self.command} {self.path}" 405')

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse_method

    def _route(self, path: str, query: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path == "/health":
            return 200, {"status": "ok"}, {}
        endpoints = {
            "/v1/survey-responses": (self.server.surveys, queries.survey_page),
            "/v1/fx-rates": (self.server.fx_rates, queries.fx_page),
        }
        if path.rstrip("/") not in endpoints:
            known = ", ".join(["/health", *endpoints])
            return 404, {"error": f"no such endpoint {path}; known: {known}"}, {}
        if not self._authorised():
            return 401, {"error": "missing or invalid bearer token"}, {"WWW-Authenticate": 'Bearer realm="bank"'}
        misbehaviour = self._misbehave()
        if misbehaviour is not None:
            return misbehaviour
        table, page = endpoints[path.rstrip("/")]
        try:
            return 200, page(table.current(), query), {}
        except queries.BadRequest as exc:
            return 400, {"error": str(exc)}, {}

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.server.token.encode())

    def _misbehave(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        behaviour = self.server.behaviour
        number = self.server.next_request_number()
        if behaviour.slow_ms:
            time.sleep(behaviour.slow_ms / 1000)
            self.server.count_delay()
        if behaviour.rate_limit_every and number % behaviour.rate_limit_every == 0:
            return 429, {"error": "rate limit exceeded, retry later"}, {"Retry-After": "1"}
        if behaviour.fail_every and number % behaviour.fail_every == 0:
            return 503, {"error": "service temporarily unavailable"}, {}
        return None

    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Requests are logged once, with status and duration, by do_GET; this silences the stdlib's own line.
        return


def make_server(
    data_dir: Path | str,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    token: str = DEFAULT_TOKEN,
    behaviour: Behaviour | None = None,
    quiet: bool = False,
) -> BankApiServer:
    """A bound, not yet serving API server (port 0 picks a free port; read it back from `.url`)."""
    if not token:
        raise ValueError("the API token must not be empty")
    behaviour = behaviour or Behaviour()
    for name in ("slow_ms", "rate_limit_every", "fail_every"):
        if getattr(behaviour, name) < 0:
            raise ValueError(f"{name} must be 0 (off) or positive, got {getattr(behaviour, name)}")
    return BankApiServer((host, port), Path(data_dir), token, behaviour, quiet)


def start_server(
    data_dir: Path | str,
    port: int = 0,
    host: str = "127.0.0.1",
    token: str = DEFAULT_TOKEN,
    slow_ms: int = 0,
    rate_limit_every: int = 0,
    fail_every: int = 0,
    quiet: bool = True,
) -> tuple[BankApiServer, threading.Thread]:
    """Serve the API from a background thread (for tests and the nightly flow); stop it with `stop_server`."""
    server = make_server(data_dir, port, host, token, Behaviour(slow_ms, rate_limit_every, fail_every), quiet)
    # A short poll interval makes `stop_server` return quickly (tests start and stop many servers).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="bank-api", daemon=True)
    thread.start()
    return server, thread


def stop_server(server: BankApiServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
