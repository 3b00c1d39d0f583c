"""One writer at a time: `bankwh build`, `export` and `ingest` take the nightly run's lock, and `export` publishes
only the published night unless forced.

The holder in these tests is a connection of the test itself holding the same advisory lock the nightly flow takes
(warehouse/locking.py), as a night in progress would. Refused: exit 1 and one line naming the holder. Waiting: one
line naming the holder, nothing done until the lock is released, then the command's work.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from deltalake import DeltaTable
from ingest_helpers import header, txn, write_lines

from bankwh import cli
from project_root import PROJECT_ROOT
from publishing import publish
from warehouse import locking

HOLDER = "night-in-progress"
DAY = "2025-01-03"

#: Two nights of one mart: blue passed its gate and is published, green is tonight's candidate that failed it.
NIGHTS_SQL = """
create schema marts_blue;
create table marts_blue.dim_shops as select g as shop_id, 'passed' as night from generate_series(1, 3) g;
create schema marts_green;
create table marts_green.dim_shops as select g as shop_id, 'failed' as night from generate_series(1, 5) g;
create schema marts;
"""


@pytest.fixture
def nights_db(fresh_db, monkeypatch):
    """A warehouse whose published night (views of `marts`) is marts_blue, beside a failed candidate marts_green."""
    with fresh_db.cursor() as cur:
        cur.execute(NIGHTS_SQL)
        publish.switch_views(cur, "marts_blue")
    monkeypatch.setenv("PGDATABASE", fresh_db.database)
    return fresh_db


def _argv(command: str, tmp_path: Path) -> list[str]:
    """A cheap invocation of each writing command on this test's database and folders."""
    if command == "ingest":
        write_lines(tmp_path / "raw", "transactions", DAY, [header("transactions"), txn(1, DAY)])
        return ["ingest", "--data", str(tmp_path / "raw"), "--pipelines-dir", str(tmp_path / "dlt"), "--quiet"]
    if command == "export":
        return ["export", "--root", str(tmp_path / "delta")]
    return ["build", "--select", "nothing_at_all"]


def _delta_nights(root: Path) -> list[str]:
    return sorted(set(DeltaTable(str(root / "dim_shops")).to_pyarrow_table().column("night").to_pylist()))


@pytest.mark.parametrize("command", ["build", "export", "ingest"])
def test_a_writer_is_refused_with_no_wait_naming_the_holder(nights_db, tmp_path, capsys, command):
    argv = _argv(command, tmp_path)
    with locking.exclusive(nights_db, "nightly", owner=HOLDER):
        assert cli.main([*argv, "--no-wait"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"bankwh {command}: error: a nightly writer is already running: lock held by ")
    assert f"bankwh lock nightly {HOLDER}" in err[0] and f"not starting bankwh {command}" in err[0]
    assert not (tmp_path / "delta").exists()
    with nights_db.cursor() as cur:
        cur.execute("select to_regclass('raw_core_banking._file_loads')")
        assert cur.fetchone() == (None,)  # the ingest never started


def _run_while_held(wh, argv: list[str], done: Callable[[], bool], capsys) -> tuple[int, str]:
    """Run the command in a thread while the test holds the lock; it must wait (saying who holds it) and do
    nothing, then finish once the lock is released. Returns its exit status and what it printed."""
    result: list[int] = []
    with locking.exclusive(wh, "nightly", owner=HOLDER):
        worker = threading.Thread(target=lambda: result.append(cli.main(argv)))
        worker.start()
        deadline = time.monotonic() + 60
        printed = ""
        while "waiting for the nightly lock" not in printed and time.monotonic() < deadline:
            time.sleep(0.2)
            printed += capsys.readouterr().out
        time.sleep(1.0)
        assert worker.is_alive() and not done(), "the command did not wait for the lock"
    worker.join(timeout=300)
    assert not worker.is_alive()
    printed += capsys.readouterr().out
    waiting = [line for line in printed.splitlines() if line.startswith("waiting for the nightly lock")]
    assert len(waiting) == 1 and f"held by bankwh lock nightly {HOLDER}" in waiting[0], printed
    return result[0], printed


def test_export_waits_for_the_lock_then_exports(nights_db, tmp_path, capsys):
    root = tmp_path / "delta"
    status, _ = _run_while_held(nights_db, _argv("export", tmp_path), lambda: root.exists(), capsys)
    assert status == 0
    assert _delta_nights(root) == ["passed"]


def test_ingest_waits_for_the_lock_then_loads(nights_db, tmp_path, capsys):
    def loaded() -> bool:
        with nights_db.cursor() as cur:
            cur.execute("select to_regclass('raw_core_banking._file_loads')")
            return cur.fetchone()[0] is not None

    status, _ = _run_while_held(nights_db, _argv("ingest", tmp_path), loaded, capsys)
    assert status == 0
    with nights_db.cursor() as cur:
        cur.execute("select file_name, rows_loaded from raw_core_banking._file_loads")
        assert cur.fetchall() == [(f"transactions/{DAY}.csv", 1)]


def test_build_waits_for_the_lock_then_runs_dbt(nights_db, tmp_path, capsys):
    """A real dbt build of one seed: its table appears only once the lock is free."""

    def seeded() -> bool:
        with nights_db.cursor() as cur:
            cur.execute("select count(*) from pg_class where relname = 'berka_codes' and relkind = 'r'")
            return cur.fetchone()[0] > 0

    argv = ["build", "--select", "berka_codes", "--", "--target-path", str(tmp_path / "target")]
    status, _ = _run_while_held(nights_db, argv, seeded, capsys)
    assert status == 0
    assert seeded()


def test_export_reads_the_published_night_and_refuses_a_failed_candidate_without_force(nights_db, tmp_path, capsys):
    root = tmp_path / "delta"
    assert cli.main(["export", "--root", str(root)]) == 0
    assert _delta_nights(root) == ["passed"]  # the views of `marts`, i.e. the night that passed
    capsys.readouterr()

    assert cli.main(["export", "--root", str(root), "--schema", "marts_green"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "bankwh export: error: schema marts_green is not the published night (schema marts): its marts may not "
        "have passed the publish gate; add --force to export it anyway"
    ]
    assert _delta_nights(root) == ["passed"]

    assert cli.main(["export", "--root", str(root), "--schema", "marts_green", "--force"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNING")]
    assert warnings == [
        "WARNING: --force: exporting schema marts_green, not the published night (schema marts); its marts may "
        "not have passed the publish gate"
    ]
    assert _delta_nights(root) == ["failed"]


def test_export_as_a_process_refuses_or_waits_for_the_nightly_lock(nights_db, tmp_path):
    """The real command in its own process: refused with --no-wait (exit 1, one line), else it waits, saying who
    holds the lock, and exports once the night releases it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PREFECT_"))}
    env.update(nights_db.env(), BANKWH_PROJECT_DIR=str(PROJECT_ROOT), PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "bankwh.cli", "export", "--root", str(tmp_path / "delta")]
    with locking.exclusive(nights_db, "nightly", owner=HOLDER):
        refused = subprocess.run([*argv, "--no-wait"], env=env, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 1
        assert len(refused.stderr.strip().splitlines()) == 1 and HOLDER in refused.stderr
        waiting = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = waiting.stdout.readline()
        assert first.startswith("waiting for the nightly lock held by bankwh lock nightly " + HOLDER), first
        time.sleep(1.0)
        assert waiting.poll() is None and not (tmp_path / "delta").exists()
    _out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert _delta_nights(tmp_path / "delta") == ["passed"]
