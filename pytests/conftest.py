"""Shared fixtures: every test that needs a database gets a real PostgreSQL.

The server is the warehouse's own (embedded under .warehouse/ by default, or the one PGHOST names), but each test
session works in a database of its own, created here and dropped at the end, so tests never touch the user's
`bank` database and two runs never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_helpers import bank_db, built, catalogued  # noqa: F401  (one built warehouse per session)

import warehouse

# Prefect's temporary test server keeps its state in SQLite; its telemetry heartbeat writes there too and, under
# load, locks the database in the middle of a flow run. The warehouse reports no usage anywhere anyway.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Model tests run dbt directly and read the marts under the names analysts use, so plain dbt builds them straight
# into schema `marts`, as in a database without nightly publication. The nightly flow sets its candidate schema
# itself (publishing/publish.py), and the flow tests check the publication.
os.environ.setdefault("BANKWH_MARTS_SCHEMA", "marts")


#: The tiers, decided here in one place. `slow` tests build the whole warehouse or run the night end to end
#: (`make test-fast` leaves them out for the edit–test loop; `make test`, which CI runs, keeps them).
SLOW_MODULES = {"test_pipeline_e2e", "test_berka", "test_conformed_figures", "test_monitoring_history", "test_faults"}
#: The deployment path and the Prefect UI: a Prefect server with its UI, a worker and nights from the deployment.
SLOW_MODULES |= {"test_deploy", "test_prefect_ui"}
#: Fixtures that build the whole warehouse: a test using one is slow (the manifest rules on `dbt parse` are not).
SLOW_FIXTURES = {"built", "catalogued", "quality_night"}
SLOW_TESTS = {
    "test_generated_bank_end_to_end",
    "test_bankwh_build_runs_dbt_on_the_resolved_warehouse",
    "test_nightly_publishes_then_the_gate_keeps_the_previous_night",
    "test_readers_see_one_whole_night_at_a_time",
    "test_cli_night_that_fails_its_gate_exits_1_naming_the_test",
    "test_a_switch_refused_by_postgresql_rolls_delta_back",
    "test_a_database_stopped_mid_run_is_one_line_and_exit_1",
    "test_bankwh_run_as_a_process_exits_with_the_truth",
    "test_cli_run_without_ingest_and_dbt_exports_the_marts",
    "test_nights_write_the_report_and_chromium_draws_every_chart",
    "test_erase_removes_the_client_from_every_layer_and_every_delta_file",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        fixtures = set(getattr(item, "fixturenames", ()))
        if module in SLOW_MODULES or item.originalname in SLOW_TESTS or fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def server() -> warehouse.Warehouse:
    """The warehouse server (started if embedded), connected to its maintenance database."""
    return warehouse.resolve(start=True, log=lambda *_: None).with_database("postgres")


def _create_db(server: warehouse.Warehouse, name: str) -> warehouse.Warehouse:
    with server.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    return server.with_database(name)


def _drop_db(server: warehouse.Warehouse, name: str) -> None:
    if os.environ.get("BANKWH_TEST_KEEP_DB"):
        return
    with server.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def session_db(server: warehouse.Warehouse) -> Iterator[warehouse.Warehouse]:
    """A fresh database for the whole test session (shared by the slow end-to-end tests)."""
    name = f"bankwh_test_{uuid.uuid4().hex[:8]}"
    yield _create_db(server, name)
    _drop_db(server, name)


@pytest.fixture
def fresh_db(server: warehouse.Warehouse) -> Iterator[warehouse.Warehouse]:
    """A fresh database for one test."""
    name = f"bankwh_t_{uuid.uuid4().hex[:10]}"
    yield _create_db(server, name)
    _drop_db(server, name)


@pytest.fixture(scope="session")
def berka_dir() -> Path:
    """The PKDD'99 Czech bank files: the gzip copy shipped in data_sets/berka, or the folder BANKWH_BERKA_DIR names
    (plain `.asc` or `.asc.gz` files)."""
    from ingest.berka_pipeline import default_berka_dir
    from ingest.berka_source import berka_paths

    path = default_berka_dir()
    try:
        berka_paths(path)
    except (FileNotFoundError, ValueError) as exc:
        pytest.fail(f"the Berka data set is not usable: {exc}")
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server (SQLite) for every flow test of the session, shared by all test modules."""
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.testing.utilities import prefect_test_harness

    # Configure Prefect's loggers now, outside any test's output capture: configured inside one, its console
    # handler would keep writing to that test's (later closed) capture stream.
    ensure_logging_setup()
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium (Debian's package, pytests/screens.py) for the screen tests of one module.

    Per module, not per session: Playwright's sync API runs an event loop in the main thread while a browser is
    open, and Prefect's synchronous calls (`State.result()`, `flow.from_source`) then return coroutines, which
    broke every flow test that ran after the first screen test."""
    from screens import chromium

    with chromium() as instance:
        yield instance
