"""Helpers of the fault tests (test_faults.py): a bank warehouse of the test's own, `bankwh run` as a real process in
its own process group, the figures readers see in schema `marts`, and what is left running after a kill.

Why a server of its own: one fault stops the database mid-run, which must not stop the server every other test
uses. Why a mirror of the project (symlinks): `bankwh run` keeps dbt's target/, logs/ and .dlt/ in the project
folder, and the project's own are shared with whoever works in it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from project_root import PROJECT_ROOT

#: Project entries the mirror leaves out: produced by runs (target, logs, data, .dlt) or not needed by one.
NOT_MIRRORED = {"target", "logs", "data", ".dlt", ".warehouse", ".git", ".venv", "pytests", "bench", "docs"}

Figures = dict[str, dict[str, object]]


def mirror_project(dest: Path) -> Path:
    """A project folder whose sources are symlinks to this one, with target/, logs/ and .dlt/ of its own.

    BANKWH_TEST_PROJECT_SOURCE names another checkout to mirror (a clean export of a commit, say, while the working
    tree is being edited)."""
    source = Path(os.environ.get("BANKWH_TEST_PROJECT_SOURCE") or PROJECT_ROOT)
    dest.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name not in NOT_MIRRORED and not entry.name.startswith("target_"):
            (dest / entry.name).symlink_to(entry)
    return dest


@dataclass
class Bank:
    """A warehouse server of the test module's own, and how to run `bankwh` against it."""

    root: Path
    env: dict[str, str]
    connect_args: dict[str, object] = field(default_factory=dict)

    def bankwh(self, *args: str, database: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bankwh.cli", *args], env=self.env_for(database),
                              capture_output=True, text=True, timeout=timeout, cwd=self.root)  # fmt: skip

    def env_for(self, database: str | None) -> dict[str, str]:
        env = dict(self.env)
        if database:
            env["PGDATABASE"] = database
        return env

    def connect(self, database: str):
        return psycopg2.connect(**{**self.connect_args, "dbname": database})

    def clone(self, template: str, name: str) -> None:
        """`create database name template template`: a copy of a whole night in a moment."""
        conn = self.connect("postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'drop database if exists "{name}" with (force)')
                for attempt in range(50):  # a finished run's backends may take a moment to exit
                    try:
                        cur.execute(f'create database "{name}" template "{template}"')
                        return
                    except psycopg2.errors.ObjectInUse:
                        if attempt == 49:
                            raise
                        time.sleep(0.2)
        finally:
            conn.close()


def start_bank(root: Path) -> Bank:
    """Start an embedded warehouse server under `root`/wh on a free port, for this test module only."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PREFECT_", "BANKWH_"))}
    env.update(
        BANKWH_WAREHOUSE_DIR=str(root / "wh"),
        BANKWH_EMBEDDED_PORT=str(port),
        BANKWH_PROJECT_DIR=str(mirror_project(root / "project")),
        PREFECT_HOME=str(root / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PYTHONUNBUFFERED="1",
    )
    bank = Bank(root, env)
    started = bank.bankwh("db", "start")
    assert started.returncode == 0, started.stderr
    exports = [line.removeprefix("export ").replace("'", "") for line in bank.bankwh("db", "env").stdout.splitlines()]
    pg = dict(line.split("=", 1) for line in exports if "=" in line)
    bank.connect_args = {"host": pg["PGHOST"], "port": int(pg["PGPORT"]), "user": pg["PGUSER"]}
    return bank


def stop_bank(bank: Bank) -> None:
    from warehouse import embedded

    bank.bankwh("db", "stop")
    embedded.destroy(bank.root / "wh")


# --- a night as a process ---------------------------------------------------------------------------------------------


class Night:
    """`bankwh run --demo` in a process group of its own, its output collected line by line as it comes."""

    def __init__(self, bank: Bank, database: str, night_dir: Path, delta_root: Path) -> None:
        argv = [sys.executable, "-m", "bankwh.cli", "run", "--demo", "--sources", "files,api",
                "--data-dir", str(night_dir / "raw"), "--delta-root", str(delta_root)]  # fmt: skip
        #: inherited by every process the run starts, even in a session of its own (the Prefect server)
        self.marker = f"BANKWH_FAULT_NIGHT={database}-{time.monotonic_ns()}"
        env = {**bank.env_for(database), **dict([self.marker.split("=", 1)])}
        self.process = subprocess.Popen(argv, env=env, cwd=bank.root, start_new_session=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, what: str, ready: Callable[[], bool], timeout_s: float = 300, poll_s: float = 0.05) -> None:
        """Poll `ready` until it holds; fail naming `what` when the run ended first or the time ran out."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            if self.process.poll() is not None:
                raise AssertionError(f"the run ended (exit {self.process.returncode}) before {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout_s:.0f} s:\n{self.tail()}")
            time.sleep(poll_s)

    def saw(self, text: str) -> Callable[[], bool]:
        return lambda: any(text in line for line in list(self.lines))

    def kill(self) -> None:
        """SIGKILL the command's own process, as the OOM killer or `kill -9` would: its children are not signalled."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(60)
        self._reader.join(30)

    def finish(self, timeout_s: float = 600) -> int:
        code = self.process.wait(timeout_s)
        self._reader.join(30)
        return code

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.lines[-lines:])

    def cleanup(self) -> None:
        """Whatever is still running in the group goes (only after the test has looked)."""
        for pid in group_members(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


def group_members(pgid: int) -> list[int]:
    """Live processes (zombies left out) of the process group `pgid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        fields = text.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


def with_env(assignment: str) -> list[int]:
    """Live processes whose environment holds `assignment` (what a Prefect server started for a run inherits, even
    in a session of its own)."""
    found = []
    needle = assignment.encode() + b"\0"
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes() + b"\0":
                found.append(int(environ.parent.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def survivors(pgid: int, marker: str, grace_s: float = 45) -> list[str]:
    """The command lines of what is still alive after `grace_s`: the killed command's process group, and any
    process whose environment carries the run's `marker` (a Prefect server in a session of its own, which stops once
    no command uses it). Zombies are left out: they run nothing."""

    def alive() -> list[int]:
        pids = set(group_members(pgid)) | set(with_env(marker))
        return sorted(pid for pid in pids if _state(pid) not in ("Z", None))

    deadline = time.monotonic() + grace_s
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = []
    for pid in alive():
        try:
            lines.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
        except OSError:
            continue
    return lines


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


# --- what readers see -------------------------------------------------------------------------------------------------


def figures(conn, schema: str = "marts") -> Figures:
    """Per mart of `schema`: rows, the sum of every numeric column, and the md5 of its sorted keys (the `_key`
    column, else every column that is not a number: the grain of an aggregate). Read in one transaction, as a
    reader of several marts would."""
    with conn.cursor() as cur:
        cur.execute(
            """
            select table_name, column_name, data_type from information_schema.columns
            where table_schema = %s order by table_name, ordinal_position
            """,
            (schema,),
        )
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in cur.fetchall():
            columns.setdefault(table, []).append((column, kind))
        result: Figures = {}
        for table, cols in sorted(columns.items()):
            numeric = [c for c, kind in cols if kind == "numeric"]
            keys = [c for c, _ in cols if c.endswith("_key")][:1] or [
                c for c, kind in cols if kind not in ("numeric", "integer", "bigint", "double precision")
            ]
            key = " || '|' || ".join(f"coalesce(\"{c}\"::text, '~')" for c in keys)
            sums = "".join(f', sum("{c}")' for c in numeric)
            cur.execute(
                f"select count(*), md5(coalesce(string_agg({key}, ',' order by {key}), ''))"
                f'{sums} from "{schema}"."{table}"'
            )
            row = cur.fetchone()
            result[table] = {
                "rows": row[0],
                "keys_md5": row[1],
                **{f"sum({c})": v for c, v in zip(numeric, row[2:], strict=True)},
            }
    conn.rollback()
    return result


def published_run(conn) -> str | None:
    with conn.cursor() as cur:
        cur.execute("select run_id from monitoring.published_runs order by published_at desc, run_id desc limit 1")
        row = cur.fetchone()
    conn.rollback()
    return row[0] if row else None


def copy_tree(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


class Reader:
    """A reader polling the published marts in a thread: every distinct set of figures it saw, in order."""

    def __init__(self, bank: Bank, database: str) -> None:
        self.bank, self.database = bank, database
        self.seen: list[Figures] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                conn = self.bank.connect(self.database)
                try:
                    while not self._stop.is_set():
                        now = figures(conn)
                        if not self.seen or self.seen[-1] != now:
                            self.seen.append(now)
                        self._stop.wait(0.3)
                finally:
                    conn.close()
            except psycopg2.Error as exc:  # what a reader would have been told: the test looks at every one
                self.errors.append(str(exc).strip())
                self._stop.wait(0.5)

    def stop(self) -> list[Figures]:
        self._stop.set()
        self._thread.join(60)
        return self.seen
