"""`bankwh db`: the embedded server's life cycle and the external-server path, through the real CLI.

The embedded tests use a throw-away warehouse directory and port, so they never disturb the developer's
`.warehouse/` server; the external tests use the PostgreSQL this machine runs at 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest

from warehouse import embedded


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bankwh(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bankwh.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _env_without_libpq(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(extra)
    return env


def _exports(output: str) -> dict[str, str]:
    pairs = {}
    for line in output.splitlines():
        assert line.startswith("export "), line
        key, _, value = line[len("export ") :].partition("=")
        pairs[key] = value.strip("'")
    return pairs


@pytest.fixture
def embedded_env():
    """A throw-away embedded server's settings. Its folder is not under pytest's temporary root: another pytest
    session makes that root private to its owner (0700) when it starts, and the server runs as another user."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="bankwh-db-cli-")) / "wh"
    env = _env_without_libpq(BANKWH_WAREHOUSE_DIR=str(root), BANKWH_EMBEDDED_PORT=str(_free_port()))
    yield env, root
    embedded.destroy(root)
    shutil.rmtree(root.parent, ignore_errors=True)


def test_embedded_lifecycle_start_reuse_env_stop(embedded_env):
    env, root = embedded_env
    before = _bankwh("db", "status", env=env)
    assert before.returncode == 1
    assert "not-initialised" in before.stdout

    first = _bankwh("db", "start", env=env)
    assert first.returncode == 0, first.stderr
    assert "warehouse ready" in first.stdout
    pid = embedded.status(root).pid
    assert pid is not None

    second = _bankwh("db", "start", env=env)
    assert second.returncode == 0, second.stderr
    assert embedded.status(root).pid == pid, "a second start must reuse the running server"

    exports = _exports(_bankwh("db", "env", env=env).stdout)
    # the libpq variables, and what plain `dbt build` needs: the transformer's login and the pseudonym key
    assert set(exports) == {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGOPTIONS"} | {
        "BANKWH_DBT_ROLE_FOR",
        "BANKWH_DBT_HOST",
        "BANKWH_DBT_USER",
        "BANKWH_DBT_PASSWORD",
    }
    dbt_login = psycopg2.connect(
        host=exports["BANKWH_DBT_HOST"], port=exports["PGPORT"], user=exports["BANKWH_DBT_USER"],
        password=exports["BANKWH_DBT_PASSWORD"], dbname=exports["PGDATABASE"], options=exports["PGOPTIONS"],
    )  # fmt: skip
    with dbt_login, dbt_login.cursor() as cur:
        cur.execute("select current_user, length(current_setting('bankwh.pseudonym_key')) >= 64")
        assert cur.fetchone() == ("bankwh_transformer", True)  # a key of 256 bits or more, in hex
    dbt_login.close()
    assert exports["PGPORT"] == env["BANKWH_EMBEDDED_PORT"]
    # the admin is the superuser on the server's own socket, the only way in without a password
    assert exports["PGHOST"] == str(embedded.socket_dir(root)) and exports["PGUSER"] == "postgres"
    assert exports["PGPASSWORD"] == ""
    conn = psycopg2.connect(
        host=exports["PGHOST"], port=exports["PGPORT"], user=exports["PGUSER"], dbname=exports["PGDATABASE"]
    )
    with conn, conn.cursor() as cur:
        cur.execute("select current_database(), current_setting('server_version_num')::int")
        db, version = cur.fetchone()
    conn.close()
    assert db == "bank"
    assert version >= 180000

    url = _bankwh("db", "url", env=env).stdout.strip()
    socket_dir = quote(exports["PGHOST"], safe="")
    assert url == f"postgresql://postgres@/bank?host={socket_dir}&port={exports['PGPORT']}"
    with psycopg2.connect(url) as by_url, by_url.cursor() as cur:  # libpq takes the URL as printed
        cur.execute("select current_user")
        assert cur.fetchone() == ("postgres",)
    by_url.close()

    stopped = _bankwh("db", "stop", env=env)
    assert stopped.returncode == 0
    after = _bankwh("db", "status", env=env)
    assert after.returncode == 1 and "stopped" in after.stdout


def test_embedded_data_survives_restart(embedded_env):
    env, root = embedded_env
    assert _bankwh("db", "start", env=env).returncode == 0
    port = int(env["BANKWH_EMBEDDED_PORT"])
    conn = psycopg2.connect(host=str(embedded.socket_dir(root)), port=port, user="postgres", dbname="bank")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create table kept (n int); insert into kept values (7)")
    conn.close()
    assert _bankwh("db", "stop", env=env).returncode == 0
    assert _bankwh("db", "start", env=env).returncode == 0
    conn = psycopg2.connect(host=str(embedded.socket_dir(root)), port=port, user="postgres", dbname="bank")
    with conn.cursor() as cur:
        cur.execute("select n from kept")
        assert cur.fetchone() == (7,)
    conn.close()


def test_crashed_server_is_reported_and_recovered(embedded_env):
    env, root = embedded_env
    assert _bankwh("db", "start", env=env).returncode == 0
    pid = embedded.status(root).pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and embedded.status(root).state != "stale-lock":
        time.sleep(0.2)

    status = _bankwh("db", "status", env=env)
    assert status.returncode == 1
    assert "stale-lock" in status.stdout
    assert f"pid {pid}" in status.stdout and "crashed or was killed" in status.stdout
    assert "bankwh db start" in status.stdout

    restarted = _bankwh("db", "start", env=env)
    assert restarted.returncode == 0, restarted.stderr
    assert "Stale lock found" in restarted.stdout
    new_state = embedded.status(root)
    assert new_state.state == "running" and new_state.pid != pid


def test_port_taken_by_another_process_is_a_clear_error(embedded_env):
    env, _root = embedded_env
    port = int(env["BANKWH_EMBEDDED_PORT"])
    assert _bankwh("db", "start", env=env).returncode == 0
    assert _bankwh("db", "stop", env=env).returncode == 0
    with socket.socket() as blocker:
        # the server's closed connections may still be in TIME_WAIT on that port; a listener may bind beside them
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        result = _bankwh("db", "start", env=env)
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "taken" in result.stderr
    assert "Traceback" not in result.stderr


def _external_env() -> dict[str, str]:
    return _env_without_libpq(PGHOST="127.0.0.1", PGPORT="5432", PGUSER="postgres", PGDATABASE="bankwh_cli_test")


def test_external_server_status_url_env_and_start_creates_database():
    env = _external_env()
    status = _bankwh("db", "status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "external server 127.0.0.1:5432 running" in status.stdout

    start = _bankwh("db", "start", env=env)
    assert start.returncode == 0, start.stderr
    assert "external server" in start.stdout
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="bankwh_cli_test")
    conn.close()

    assert _bankwh("db", "url", env=env).stdout.strip() == "postgresql://postgres@127.0.0.1:5432/bankwh_cli_test"
    assert _exports(_bankwh("db", "env", env=env).stdout)["PGHOST"] == "127.0.0.1"
    stop = _bankwh("db", "stop", env=env)
    assert stop.returncode == 0 and "nothing to stop" in stop.stdout

    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('drop database if exists "bankwh_cli_test" with (force)')
    admin.close()


def test_unreachable_external_server_is_reported():
    env = _external_env()
    env["PGPORT"] = str(_free_port())
    status = _bankwh("db", "status", env=env)
    assert status.returncode == 1
    assert "not reachable" in status.stdout
    start = _bankwh("db", "start", env=env)
    assert start.returncode == 1
    assert "cannot connect to PostgreSQL" in start.stderr and "Traceback" not in start.stderr


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command of the argparse tree, parents before children: ("db",), ("db", "start"), ..."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*path, name))
                found += _command_paths(sub, (*path, name))
    return found


def test_every_command_has_help(tmp_path):
    """`--help` at every level prints its usage and touches no server: PGHOST names a closed port, so a command
    that connected before printing its help would fail, and the embedded server's folder stays empty."""
    from bankwh.cli import build_parser

    env = _env_without_libpq(
        PGHOST="127.0.0.1",
        PGPORT=str(_free_port()),
        PGUSER="postgres",
        PGCONNECT_TIMEOUT="3",
        BANKWH_WAREHOUSE_DIR=str(tmp_path / "wh"),
    )
    top = _bankwh("--help", env=env)
    assert top.returncode == 0 and top.stdout.startswith("usage: bankwh")
    paths = _command_paths(build_parser())
    # the walk reaches the nested levels, not only the first one
    assert {("db", "start"), ("db", "env"), ("api", "serve"), ("docs", "generate"), ("docs", "serve")} <= set(paths)
    for path in paths:
        if len(path) == 1:
            assert path[0] in top.stdout
        result = _bankwh(*path, "--help", env=env)
        command = "bankwh " + " ".join(path)
        assert result.returncode == 0, f"{command} --help failed: {result.stderr}"
        assert result.stdout.startswith("usage: " + command), f"{command} --help printed: {result.stdout[:200]}"
        assert "cannot connect" not in result.stdout + result.stderr, command
    assert not (tmp_path / "wh").exists()  # no embedded server was started either


def test_embedded_roles_log_in_with_their_passwords_and_the_admin_only_on_its_socket(embedded_env):
    """`bankwh db roles` is idempotent; `bankwh db env --role` gives a role's login (scram over loopback, the
    password generated into a 0600 file); the superuser has no way in over TCP without a password."""
    env, root = embedded_env
    first = _bankwh("db", "roles", env=env)
    assert first.returncode == 0, first.stderr
    again = _bankwh("db", "roles", env=env)
    assert again.returncode == 0, again.stderr
    assert "alter bankwh_analyst (password)" in again.stdout and "grants applied in database bank" in again.stdout
    secrets_file = root / "role-passwords.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600

    analyst = _exports(_bankwh("db", "env", "--role", "analyst", env=env).stdout)
    assert analyst["PGHOST"] == "127.0.0.1" and analyst["PGUSER"] == "bankwh_analyst" and analyst["PGPASSWORD"]
    connect = dict(host="127.0.0.1", port=analyst["PGPORT"], dbname="bank")
    conn = psycopg2.connect(**connect, user="bankwh_analyst", password=analyst["PGPASSWORD"])
    with conn, conn.cursor() as cur:
        cur.execute("select current_user, rolsuper from pg_roles where rolname = current_user")
        assert cur.fetchone() == ("bankwh_analyst", False)
    conn.close()
    for user, password in (("bankwh_analyst", "wrong"), ("postgres", None), ("postgres", "")):
        with pytest.raises(psycopg2.OperationalError) as refused:
            psycopg2.connect(**connect, user=user, password=password, connect_timeout=5)
        assert "password" in str(refused.value)
