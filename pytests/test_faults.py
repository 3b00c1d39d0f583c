"""Faults: a night killed with SIGKILL during ingest, during dbt and during the export, and a night whose database is
stopped mid-run, each followed by a rerun, end with marts identical to an undisturbed night's (rows, sums of every
numeric column, md5 of the sorted keys); readers see the previous night, whole, until the rerun publishes; the user
reads one line naming the cause; and nothing of the killed command is left running.

Everything is real: `bankwh run --demo` as a process in a process group of its own (fault_helpers.Night), on a
PostgreSQL server of this module's own, with its temporary Prefect server and the demo bank's HTTP API. The kill
lands where it hurts, not after a guessed sleep: the test holds a PostgreSQL lock that the step needs at its most
fragile point (the ingest's load record, the publication's lock) and kills the run once pg_stat_activity shows it
waiting there, or it watches the candidate schema fill while dbt builds. The cost is shared: one module-scoped
baseline (night 1 published, then an undisturbed night 2 in a copy) and one `create database ... template` copy of
night 1 per fault.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from deltalake import DeltaTable
from fault_helpers import (
    Bank,
    Figures,
    Night,
    Reader,
    copy_tree,
    figures,
    published_run,
    start_bank,
    stop_bank,
    survivors,
)

from publishing import publish

#: The smallest demo bank that still has every entity and defect kind: 210 clients, 40 days of transactions.
SCALE, DAYS = "0.02", "40"
CANDIDATE = "marts_green"  # night 1 publishes marts_blue, so night 2 builds into the other slot
#: The output a database lost mid-run may add after the stop: the run's own log lines, not one per dbt node.
MAX_LINES_AFTER_STOP = 40


@dataclass
class Baseline:
    bank: Bank
    root: Path
    night1: Figures
    night2: Figures
    run1: str
    raw_rows: dict[str, int]

    def copy(self, name: str) -> tuple[str, Path, Path]:
        """A database at night 1 (published), night 2's deliveries, night 1's Delta tables: a fault's starting point."""
        self.bank.clone("night1", name)
        night_dir = copy_tree(self.root / "night2", self.root / name)
        delta = copy_tree(self.root / "delta_night1", self.root / f"delta_{name}")
        return name, night_dir, delta


def _raw_rows(conn) -> dict[str, int]:
    with conn.cursor() as cur:
        counts = {}
        for table in ("transactions", "balances", "_quarantine", "_file_loads"):
            cur.execute(f"select count(*) from raw_core_banking.{table}")
            counts[table] = cur.fetchone()[0]
    conn.rollback()
    return counts


def _in_database(bank: Bank, database: str, query: str, *args) -> list[tuple]:
    conn = bank.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()
    finally:
        conn.close()


def _waiting(bank: Bank, database: str, on: str) -> bool:
    """Whether a backend of `database` waits for a lock in a statement that names `on`."""
    query = (
        "select 1 from pg_stat_activity where datname = %s and wait_event_type = 'Lock' and position(%s in query) > 0"
    )
    return bool(_in_database(bank, "postgres", query, database, on))


def _no_lock_left(bank: Bank, database: str, grace_s: float = 30) -> None:
    """The killed run's advisory locks (the nightly writer lock, the file-ingest lock) went with its connections:
    the next run is not told that a dead run still holds them."""
    query = (
        "select count(*) from pg_locks where locktype = 'advisory' and database = "
        "(select oid from pg_database where datname = %s)"
    )
    deadline = time.monotonic() + grace_s
    while _in_database(bank, "postgres", query, database)[0][0] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _in_database(bank, "postgres", query, database)[0][0] == 0, "an advisory lock outlived the killed run"


def _published_night(bank: Bank, database: str, run: Night, delta: Path) -> Figures:
    """The rerun published: exit 0, its last line says so, no traceback; PostgreSQL and Delta agree. The figures."""
    code = run.finish()
    assert code == 0, run.tail()
    assert run.lines[-1].startswith("bankwh run: published in"), run.tail()
    assert "Traceback" not in run.output and "FATAL" not in run.output
    conn = bank.connect(database)
    try:
        with conn.cursor() as cur:
            record = publish.last_published(cur)
        assert publish.disagreements(delta, record) == []
        seen = figures(conn)
    finally:
        conn.close()
    for mart, rows in record.mart_rows.items():  # no Delta version of the killed night doubles or loses rows
        assert DeltaTable(str(delta / mart)).to_pyarrow_table().num_rows == rows == seen[mart]["rows"], mart
    return seen


def _readers_see(bank: Bank, database: str) -> tuple[Figures, str | None]:
    conn = bank.connect(database)
    try:
        return figures(conn), published_run(conn)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def baseline() -> Iterator[Baseline]:
    """Night 1 published in database night1; night 2 (one more business day) run undisturbed in a copy of it."""
    # not under pytest's temporary root, which another pytest session may make private to root (0700) at any time
    root = Path(tempfile.mkdtemp(prefix="bankwh-faults-"))
    bank = start_bank(root)
    try:
        made = bank.bankwh("generate", "--scale", SCALE, "--days", DAYS, "--out", str(root / "night1" / "raw"))
        assert made.returncode == 0, made.stderr
        copy_tree(root / "night1", root / "night2")
        made = bank.bankwh("generate", "--next-day", "--out", str(root / "night2" / "raw"))
        assert made.returncode == 0, made.stderr

        first = Night(bank, "night1", root / "night1", root / "delta_night1")
        assert first.finish() == 0, first.tail()
        night1, run1 = _readers_see(bank, "night1")

        bank.clone("night1", "baseline")
        copy_tree(root / "delta_night1", root / "delta_baseline")
        second = Night(bank, "baseline", copy_tree(root / "night2", root / "baseline"), root / "delta_baseline")
        night2 = _published_night(bank, "baseline", second, root / "delta_baseline")
        conn = bank.connect("baseline")
        try:
            raw_rows = _raw_rows(conn)
        finally:
            conn.close()
        assert night2 != night1 and night2["fact_transactions"]["rows"] > night1["fact_transactions"]["rows"]
        yield Baseline(bank, root, night1, night2, run1, raw_rows)
    finally:
        stop_bank(bank)
        shutil.rmtree(root, ignore_errors=True)


def _killed(run: Night) -> None:
    """SIGKILL the command; nothing of its process group may outlive it (the temporary Prefect server included)."""
    try:
        run.kill()
        assert survivors(run.process.pid, run.marker) == [], "left running after SIGKILL"
    finally:
        run.cleanup()


def test_sigkill_during_ingest_then_rerun_gives_the_undisturbed_night(baseline):
    """Killed after dlt committed tonight's raw rows and before the ledger recorded them (the load waits on a lock
    the test holds on `_dlt_loads`): the rows of the unrecorded load are there; the rerun removes them, loads the
    files once, and the marts equal the undisturbed night's."""
    bank = baseline.bank
    db, night_dir, delta = baseline.copy("kill_ingest")
    holder = bank.connect(db)
    with holder.cursor() as cur:
        cur.execute("lock table raw_core_banking._dlt_loads in exclusive mode")
    run = Night(bank, db, night_dir, delta)
    try:
        run.wait_for("the ingest waiting to record its load in _dlt_loads", lambda: _waiting(bank, db, "_dlt_loads"))
    finally:
        _killed(run)
        holder.rollback()
        holder.close()
    _no_lock_left(bank, db)
    unrecorded = _in_database(
        bank, db,
        "select count(*) from raw_core_banking.transactions t where not exists (select from "
        "raw_core_banking._file_loads l where l.file_name = t._file_name and l.load_id = t._dlt_load_id)",
    )[0][0]  # fmt: skip
    assert unrecorded > 0, "the kill should land after tonight's rows were committed, before the ledger"
    assert _readers_see(bank, db) == (baseline.night1, baseline.run1)

    rerun = Night(bank, db, night_dir, delta)
    assert _published_night(bank, db, rerun, delta) == baseline.night2
    assert "removed rows of an interrupted load" in rerun.output
    conn = bank.connect(db)
    try:
        assert _raw_rows(conn) == baseline.raw_rows
    finally:
        conn.close()


def test_sigkill_during_dbt_keeps_readers_on_one_whole_night(baseline):
    """Killed while dbt fills the candidate schema: readers keep night 1, whole, through the kill and the rerun's
    build, and then see night 2, whole: a reader polling all the while saw exactly two states, in that order."""
    bank = baseline.bank
    db, night_dir, delta = baseline.copy("kill_dbt")
    reader = Reader(bank, db)
    try:
        run = Night(bank, db, night_dir, delta)
        try:
            count_candidate = "select count(*) from pg_tables where schemaname = %s"
            run.wait_for("dbt writing marts into the candidate schema",
                         lambda: _in_database(bank, db, count_candidate, CANDIDATE)[0][0] > 0)  # fmt: skip
        finally:
            _killed(run)
        _no_lock_left(bank, db)
        assert "dbt build into marts_green" in run.output
        assert _readers_see(bank, db) == (baseline.night1, baseline.run1)
        rerun = Night(bank, db, night_dir, delta)
        assert _published_night(bank, db, rerun, delta) == baseline.night2
    finally:
        seen = reader.stop()
    assert reader.errors == []
    assert seen == [baseline.night1, baseline.night2]


def _delta_commits(root: Path) -> int:
    """How many commits the marts' Delta logs hold (the record of published nights left out)."""
    return sum(1 for path in root.glob("*/_delta_log/*.json") if not path.parent.parent.name.startswith("_"))


def test_sigkill_during_export_then_rerun_puts_delta_back_and_publishes(baseline):
    """Killed as soon as the export committed tonight's first Delta version (or, on a machine too busy to see it, at
    the latest while the publication waits for its lock, held by the test, after the last one): Delta is ahead of
    the published night, PostgreSQL's readers keep night 1; the rerun restores the Delta tables, then publishes
    night 2 in both stores."""
    bank = baseline.bank
    db, night_dir, delta = baseline.copy("kill_export")
    holder = bank.connect(db)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(hashtext('bankwh.publish'))")
    commits = _delta_commits(delta)
    run = Night(bank, db, night_dir, delta)
    try:
        run.wait_for(
            "a Delta commit of tonight's export",
            lambda: _delta_commits(delta) > commits or _waiting(bank, db, "bankwh.publish"),
            poll_s=0.01,
        )
    finally:
        _killed(run)
        holder.close()
    _no_lock_left(bank, db)
    conn = bank.connect(db)
    try:
        with conn.cursor() as cur:
            record = publish.last_published(cur)
    finally:
        conn.close()
    ahead = [m for m, v in publish.delta_versions(delta, record.delta_versions).items() if v > record.delta_versions[m]]
    assert ahead, "the kill should land after the export moved a Delta table"
    assert record.run_id == baseline.run1
    assert _readers_see(bank, db) == (baseline.night1, baseline.run1)

    rerun = Night(bank, db, night_dir, delta)
    assert _published_night(bank, db, rerun, delta) == baseline.night2
    assert "Delta tables ahead of the published night (an interrupted run)" in rerun.output


def test_database_stopped_mid_run_is_one_line_then_rerun_gives_the_undisturbed_night(baseline):
    """The server stops while dbt builds: exit 1, one line naming the lost connection, no traceback, no abort, no
    spew of one line per node, nothing left running; once the server is back the rerun publishes night 2."""
    bank = baseline.bank
    db, night_dir, delta = baseline.copy("stop_db")
    run = Night(bank, db, night_dir, delta)
    try:
        count_candidate = "select count(*) from pg_tables where schemaname = %s"
        run.wait_for("dbt writing marts into the candidate schema",
                     lambda: _in_database(bank, db, count_candidate, CANDIDATE)[0][0] > 0)  # fmt: skip
        before = len(run.lines)
        stopped = bank.bankwh("db", "stop")
        assert stopped.returncode == 0, stopped.stderr
        code = run.finish()
        assert survivors(run.process.pid, run.marker) == [], "left running after the run ended"
    finally:
        run.cleanup()
    assert code == 1, run.tail()
    errors = [line for line in run.lines if line.startswith("bankwh run:")]
    assert len(errors) == 1, run.tail()
    assert errors[0] == run.lines[-1] and "\n" not in errors[0]
    assert any(word in errors[0].lower() for word in ("connection", "server", "terminat")), errors[0]
    assert "Traceback" not in run.output and "pg_advisory_unlock" not in run.output
    assert "FATAL: exception not rethrown" not in run.output
    assert len(run.lines) - before <= MAX_LINES_AFTER_STOP, run.tail(MAX_LINES_AFTER_STOP + 20)

    started = bank.bankwh("db", "start")
    assert started.returncode == 0, started.stderr
    assert _readers_see(bank, db) == (baseline.night1, baseline.run1)
    rerun = Night(bank, db, night_dir, delta)
    assert _published_night(bank, db, rerun, delta) == baseline.night2
