"""The Prefect API every command of the project talks to: the server PREFECT_API_URL (or the Prefect profile) names,
else the project's own Prefect server, whose database lives in the project's Prefect home (`.warehouse/prefect`).

Why one home: runs started by `bankwh run` (and `make run`), by `bankwh serve` and by a deployment must land in the
same Prefect database, or the UI shows some nights and not others. Only one server may own that SQLite database at
a time (two servers on one file end in "database is locked"), so the first command that needs the API starts the
server and records it in `server.json`; every other command meanwhile uses that server instead of starting one.

Who stops it: every command using the server holds a shared lock on `users.lock` for as long as it does. The server
runs under a small supervisor (this module run as a script) that stops it once nobody holds that lock: after the last
`bankwh run` ends, when `bankwh serve` is stopped, and also when they were killed outright (SIGKILL, the OOM killer),
because the kernel releases a dead process's locks. So a run never loses its server to another command's exit, and
nothing is left running after the last one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Seconds a server may take to answer (BANKWH_PREFECT_START_TIMEOUT_S overrides).
START_TIMEOUT_S = 180
START_ATTEMPTS = 2
#: The port of the project's server when it is free (Prefect's usual one, so the UI is where people expect it).
DEFAULT_PORT = 4200
#: How often the supervisor looks whether anybody still uses the server.
POLL_S = 1.0


def quiet_defaults() -> None:
    """No telemetry from the project's runs."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def prefect_home() -> Path:
    """The project's Prefect home: `$BANKWH_PREFECT_HOME`, else an explicit `$PREFECT_HOME`, else `prefect/` in the
    warehouse folder (`.warehouse/prefect`, or under `$BANKWH_WAREHOUSE_DIR`)."""
    named = os.environ.get("BANKWH_PREFECT_HOME") or os.environ.get("PREFECT_HOME")
    if named:
        return Path(named).expanduser().resolve()
    from warehouse.embedded import warehouse_dir

    return warehouse_dir() / "prefect"


def configured_url() -> str | None:
    """The Prefect API the environment or the active Prefect profile names (None: the project's server)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def answers(url: str, timeout_s: float = 2) -> bool:
    """True when a Prefect API at `url` answers its health check."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout_s) as response:
            return response.status == 200
    except OSError:
        return False


def running_server(home: Path) -> str | None:
    """The API URL of the project's server recorded in `home`, when its supervisor lives and the API answers."""
    try:
        record = json.loads((home / "server.json").read_text())
        os.kill(int(record["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record["url"] if answers(record["url"]) else None


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lock(path: Path, shared: bool, wait: bool = True):
    """An open file holding an flock on `path` (shared or exclusive); None when `wait` is False and it is taken."""
    import fcntl

    handle = path.open("a")
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
    try:
        fcntl.flock(handle, mode)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _start(home: Path, port: int, log: Callable[[str], None]) -> str:
    """Start the supervised server on `port` and wait until it answers; its URL. The caller holds start.lock."""
    url = f"http://127.0.0.1:{port}/api"
    timeout = max(1, int(float(os.environ.get("BANKWH_PREFECT_START_TIMEOUT_S", START_TIMEOUT_S))))
    for attempt in range(1, START_ATTEMPTS + 1):
        log(f"starting the project's Prefect server (state in {home}) on port {port}; waiting up to {timeout} s"
            + (f", attempt {attempt} of {START_ATTEMPTS}" if attempt > 1 else ""))  # fmt: skip
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "orchestration.prefect_local", str(home), str(port)],
            env=server_env(home, url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not stopped by a Ctrl-C meant for the command that happened to start it
        )
        deadline = time.monotonic() + timeout
        while supervisor.poll() is None and time.monotonic() < deadline:
            if answers(url):
                (home / "server.json").write_text(json.dumps({"url": url, "pid": supervisor.pid}))
                return url
            time.sleep(0.5)
        _stop_group(supervisor.pid)
    raise RuntimeError(
        f"the project's Prefect server did not answer on port {port} within {timeout} s ({START_ATTEMPTS} attempts; "
        f"see {home / 'server.log'}); raise BANKWH_PREFECT_START_TIMEOUT_S on a slow machine or set PREFECT_API_URL"
    )


def server_env(home: Path, url: str) -> dict[str, str]:
    """The server's environment: its home is the project's, its UI asks the API at `url` (by default the UI would
    ask port 4200, whatever port the server listens on), and it reports nothing anywhere."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_UI_API_URL")}
    env.update(PREFECT_HOME=str(home), PREFECT_UI_API_URL=url, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1")  # fmt: skip
    return env


def _stop_group(pid: int, wait_s: float = 30) -> None:
    """SIGTERM the process group `pid` leads, then SIGKILL what is left after `wait_s`."""
    for sig, grace in ((signal.SIGTERM, wait_s), (signal.SIGKILL, 5)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@contextmanager
def project_api(
    log: Callable[[str], None] = print, port: int | None = None, require_port: bool = False
) -> Iterator[str]:
    """The Prefect API for the commands inside the block: the configured one, else the project's server (used if
    it runs, started if not). The block's Prefect client (and its child processes) use it; on the way out the run's
    last events and logs are delivered, and the server stops by itself once no command uses it any more.

    port: where to start the server (default 4200 when free, else any free port). require_port: fail instead of
    picking another port when `port` is taken (`bankwh serve --port`).
    """
    configured = configured_url()
    if configured:
        try:
            yield configured
        finally:
            drain()
        return
    home = prefect_home()
    with server(home, port, require_port, log) as url:
        log(f"Prefect UI: {url.removesuffix('/api')} (runs kept in {home})")
        with _api_url(url):
            try:
                yield url
            finally:
                drain()


@contextmanager
def server(
    home: Path, port: int | None = None, require_port: bool = False, log: Callable[[str], None] = print
) -> Iterator[str]:
    """The API URL of the Prefect server of `home`, running for at least as long as the block: the one already
    running, else one started here. This process's Prefect settings are left alone (see project_api)."""
    home.mkdir(parents=True, exist_ok=True)
    user = _lock(home / "users.lock", shared=True)  # held while this block uses the server
    try:
        with _held(home / "start.lock"):
            url = running_server(home)
            if url is None:
                wanted = port or DEFAULT_PORT
                if not _port_is_free(wanted):
                    if require_port:
                        raise RuntimeError(f"port {wanted} is taken by another program; choose another with --port")
                    wanted = _free_port()
                url = _start(home, wanted, log)
        yield url
    finally:
        user.close()


@contextmanager
def _held(path: Path) -> Iterator[None]:
    handle = _lock(path, shared=False)
    try:
        yield
    finally:
        handle.close()


@contextmanager
def _api_url(url: str) -> Iterator[None]:
    """PREFECT_API_URL for this process's Prefect client, its background threads (events, logs) and the processes
    it starts (a served run).

    Why the global settings are refreshed too: Prefect read the environment when it was imported, and its event
    and log threads do not see a `temporary_settings` block of the main thread; left alone, they would start a
    temporary server of their own and tonight's events and logs would land there.
    """
    from prefect.context import refresh_global_settings_context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    refresh_global_settings_context()
    try:
        with temporary_settings({PREFECT_API_URL: url}):
            yield
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        refresh_global_settings_context()


def drain(timeout_s: float = 30) -> None:
    """Deliver the run's last events and log lines while the server is still up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        try:
            worker.drain_all(timeout=timeout_s)
        except Exception as exc:  # run telemetry must not turn a good run into a failed command
            print(f"note: Prefect {worker.__name__} did not drain: {exc}", file=sys.stderr)


# --- the supervisor: `python -m orchestration.prefect_local HOME PORT` ----------------------------------------------

#: prctl(2) option: the signal a process gets when its parent ends.
PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the server's process: SIGTERM when the supervisor ends, however it ends (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(home: Path, port: int) -> int:
    """Run the Prefect server of `home` on `port` until no command holds users.lock, then stop it."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with (home / "server.log").open("ab") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_stop_with_parent,
        )
    idle = None
    while not stopping and server.poll() is None:
        time.sleep(POLL_S)
        idle = _lock(home / "users.lock", shared=False, wait=False)
        if idle is not None:  # nobody uses the server any more (or whoever did has died)
            break
    try:
        record = json.loads((home / "server.json").read_text())
        if record.get("pid") == os.getpid():
            (home / "server.json").unlink()
    except (OSError, ValueError):
        pass
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    if idle is not None:
        idle.close()
    return 0


if __name__ == "__main__":
    sys.exit(supervise(Path(sys.argv[1]), int(sys.argv[2])))
