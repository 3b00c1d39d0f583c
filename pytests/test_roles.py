"""Least privilege: each role of warehouse/roles.py can do its step's work and nothing else, on the server the
session runs on (embedded, or the external one PGHOST names: trust there, so the grants are tested, not the
passwords), and the embedded server's authentication keeps the superuser off TCP.

Every refusal is PostgreSQL's own "permission denied", raised by the statement a role is not allowed to run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest
import yaml

import warehouse
from project_root import PROJECT_ROOT
from publishing import publish
from warehouse import embedded, roles

#: On an external server with trust authentication any password is accepted; setting one makes the roles usable
#: there exactly as with the embedded server's generated passwords.
TRUST_PASSWORD = "trust-on-the-external-test-server"


@pytest.fixture(scope="module")
def role_env() -> Iterator[None]:
    """On an external server: a password for every role in the environment, so `for_role` uses them."""
    names = [roles.password_variable(role) for role in roles.ROLES]
    saved = {name: os.environ.get(name) for name in names}
    if warehouse.uses_external_server():
        os.environ.update(dict.fromkeys(names, TRUST_PASSWORD))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def night(server: warehouse.Warehouse, role_env) -> Iterator[warehouse.Warehouse]:
    """A database prepared for the roles and holding one object per layer, each created by the role that writes it
    in the night: a raw table (by the admin's ingest bookkeeping: the event trigger hands it to the loader), a
    staging view and a candidate mart (the transformer), the published view of that mart (the admin's publication)."""
    name = f"bankwh_roles_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    db = server.with_database(name)
    roles.apply(db)
    with db.cursor() as cur:
        cur.execute("create table raw_core_banking.accounts (account_id text, iban text)")
        cur.execute("insert into raw_core_banking.accounts values ('A1', 'FR7630006000011234567890189')")
    with db.for_role(roles.TRANSFORMER).cursor() as cur:
        cur.execute("create schema staging")
        cur.execute("create view staging.stg_accounts as select account_id, iban from raw_core_banking.accounts")
        cur.execute("create table marts_blue.dim_accounts as select account_id from staging.stg_accounts")
    publish.publish(db, publish.PublishedRun(run_id="roles-night", schema="marts_blue"))
    yield db
    roles.forget_prepared()
    with server.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')


def _as(db: warehouse.Warehouse, role: str) -> warehouse.Warehouse:
    as_role = db.for_role(role)
    assert as_role.user == role, f"{role} is not usable on {db.database}"
    return as_role


FORBIDDEN = [
    (roles.ANALYST, "select * from raw_core_banking.accounts"),
    (roles.ANALYST, "select * from staging.stg_accounts"),
    (roles.ANALYST, "select * from marts_blue.dim_accounts"),
    (roles.ANALYST, "select * from marts_green.dim_accounts"),
    (roles.ANALYST, "create table marts.mine (n int)"),
    (roles.ANALYST, "delete from marts.dim_accounts"),
    (roles.LOADER, "insert into marts_blue.dim_accounts values ('X')"),
    (roles.LOADER, "create table marts.dim_fake (n int)"),
    (roles.LOADER, "drop view marts.dim_accounts"),
    (roles.LOADER, "select * from staging.stg_accounts"),
    (roles.EXPORTER, "insert into marts_blue.dim_accounts values ('X')"),
    (roles.EXPORTER, "update marts.dim_accounts set account_id = 'X'"),
    (roles.EXPORTER, "create table marts_blue.extra (n int)"),
    (roles.EXPORTER, "create schema exports"),
    (roles.EXPORTER, "select * from raw_core_banking.accounts"),
    (roles.TRANSFORMER, "insert into raw_core_banking.accounts values ('A2', 'DE89370400440532013000')"),
    (roles.TRANSFORMER, "delete from raw_core_banking.accounts"),
    (roles.TRANSFORMER, "create table raw_core_banking.shadow (n int)"),
    (roles.TRANSFORMER, "drop view marts.dim_accounts"),
    *[(role, "create role bankwh_intruder") for role in roles.ROLES],
    *[(role, "create database bankwh_intruder") for role in roles.ROLES],
]


@pytest.mark.parametrize(("role", "statement"), FORBIDDEN, ids=[f"{r}: {s}" for r, s in FORBIDDEN])
def test_each_forbidden_operation_is_permission_denied(night, role, statement):
    with pytest.raises(psycopg2.errors.InsufficientPrivilege) as denied, _as(night, role).cursor() as cur:
        cur.execute(statement)
    assert "permission denied" in str(denied.value)


def test_each_role_can_do_its_own_work(night):
    """The same objects, reached by the role whose step needs them (so the refusals above are about the role)."""
    with _as(night, roles.ANALYST).cursor() as cur:
        cur.execute("select account_id from marts.dim_accounts")
        assert cur.fetchall() == [("A1",)]
    with _as(night, roles.EXPORTER).cursor() as cur:
        cur.execute("select count(*) from marts_blue.dim_accounts union all select count(*) from marts.dim_accounts")
        assert cur.fetchall() == [(1,), (1,)]
    with _as(night, roles.LOADER).cursor() as cur:
        cur.execute("insert into raw_core_banking.accounts values ('A2', 'DE89370400440532013000')")
        cur.execute("alter table raw_core_banking.accounts add column if not exists branch text")  # a new file column
        cur.execute("delete from raw_core_banking.accounts where account_id = 'A2'")
    with _as(night, roles.TRANSFORMER).cursor() as cur:
        cur.execute("select count(*) from raw_core_banking.accounts")
        assert cur.fetchone() == (1,)
        cur.execute("create table marts_green.dim_accounts as select account_id from staging.stg_accounts")
        cur.execute("drop table marts_green.dim_accounts")
    with night.cursor() as cur:
        cur.execute(
            "select rolname, rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls "
            "from pg_roles where rolname like 'bankwh\\_%%' order by 1"
        )
        assert cur.fetchall() == [(role, False) for role in sorted(roles.ROLES)]


def test_roles_are_applied_idempotently_and_take_back_what_the_superuser_created(night):
    """A second `apply` changes nothing that works; a raw table and a dbt schema a superuser run created before the
    roles existed go to their role (the event trigger is off while the superuser plays an older version)."""
    with night.cursor() as cur:
        cur.execute(f"alter event trigger {roles.EVENT_TRIGGER} disable")
        cur.execute("create table raw_berka.legacy (n int)")
        cur.execute("create schema intermediate")
        cur.execute("create table intermediate.int_legacy (n int)")
        cur.execute("create schema privacy")
        cur.execute("create function privacy.legacy() returns int language sql as 'select 1'")
        cur.execute(f"alter event trigger {roles.EVENT_TRIGGER} enable")
    roles.apply(night)
    with night.cursor() as cur:
        cur.execute(
            "select c.relnamespace::regnamespace::text, pg_get_userbyid(c.relowner) from pg_class c "
            "where c.relname in ('legacy', 'int_legacy') order by 1"
        )
        assert cur.fetchall() == [("intermediate", roles.TRANSFORMER), ("raw_berka", roles.LOADER)]
        cur.execute("select pg_get_userbyid(proowner) from pg_proc where oid = 'privacy.legacy()'::regprocedure")
        assert cur.fetchone() == (roles.TRANSFORMER,)
    with _as(night, roles.TRANSFORMER).cursor() as cur:
        cur.execute("select count(*) from raw_berka.legacy")
        cur.execute("drop table intermediate.int_legacy")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege), _as(night, roles.ANALYST).cursor() as cur:
        cur.execute("select * from raw_core_banking.accounts")


def _tiny_project(root: Path) -> Path:
    """A one-model dbt project with the warehouse's schema naming and the marts' `+grants` of dbt_project.yml."""
    config = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    grants = config["models"]["bank_warehouse"]["marts"]["+grants"]
    project = root / "tiny"
    (project / "models" / "marts").mkdir(parents=True)
    (project / "macros").mkdir()
    shutil.copy(PROJECT_ROOT / "macros" / "generate_schema_name.sql", project / "macros")
    (project / "models" / "marts" / "dim_accounts.sql").write_text(
        "select account_id from {{ source('core_banking', 'accounts') }}\n"
    )
    (project / "models" / "sources.yml").write_text(
        "sources:\n  - name: core_banking\n    schema: raw_core_banking\n    tables: [{name: accounts}]\n"
    )
    (project / "dbt_project.yml").write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "version": "1.0.0",
                "config-version": 2,
                "profile": "bank_warehouse",
                "models": {"tiny": {"marts": {"+schema": "marts_green", "+materialized": "table", "+grants": grants}}},
            }
        )
    )
    return project


def test_grants_survive_a_dbt_rebuild(night, tmp_path):
    """dbt runs as the transformer through profiles.yml (the variables `apply_env` sets for a prepared database) and
    re-grants the exporter after each rebuild of a mart; the analyst still cannot read the candidate."""
    project = _tiny_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "BANKWH_DBT_"))}
    env.update(night.env(), **roles.dbt_env(night), BANKWH_MARTS_SCHEMA="marts_green")
    assert env["BANKWH_DBT_USER"] == roles.TRANSFORMER
    dbt = [str(Path(sys.executable).parent / "dbt"), "run", "--project-dir", str(project)]
    dbt += ["--profiles-dir", str(PROJECT_ROOT), "--target-path", str(tmp_path / "target")]
    for rebuild in ([], ["--full-refresh"]):
        result = subprocess.run(dbt + rebuild, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:]
        with night.cursor() as cur:
            cur.execute(
                "select tableowner from pg_tables where schemaname = 'marts_green' and tablename = 'dim_accounts'"
            )
            assert cur.fetchone() == (roles.TRANSFORMER,)
        with _as(night, roles.EXPORTER).cursor() as cur:
            cur.execute("select account_id from marts_green.dim_accounts")
            assert cur.fetchall() == [("A1",)]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege), _as(night, roles.ANALYST).cursor() as cur:
            cur.execute("select account_id from marts_green.dim_accounts")
    # PG* pointed at another database: profiles.yml falls back to the given user instead of the transformer
    other = env | {"PGDATABASE": "postgres"}
    debug = subprocess.run(
        [dbt[0], "debug", "--project-dir", str(project), "--profiles-dir", str(PROJECT_ROOT)],
        env=other, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert f"user: {night.user}" in debug.stdout and roles.TRANSFORMER not in debug.stdout


def test_the_api_load_runs_as_the_loader_and_leaves_no_staging_copy(night, tmp_path):
    """dlt merges the bank API through its staging dataset (`raw_bank_api_staging`, a copy of the delivered rows):
    the load runs as the loader, and the copy is dropped once the load is complete."""
    from bank_sim.api import start_server, stop_server
    from ingest.api_pipeline import run_api_ingest

    data = tmp_path / "data"
    (data / "raw" / "surveys").mkdir(parents=True)
    (data / "api").mkdir()
    (data / "raw" / "surveys" / "2025-01-02.csv").write_text(
        "response_id,client_id,survey_date,channel,nps_score,csat_score,comment,answered_at\n"
        "S0001,C001,2025-01-02,app,9,5,ask for Jane Doe,2025-01-02T09:00:00\n"
    )
    (data / "api" / "fx_rates.csv").write_text(
        f"rate_date,currency,rate_per_eur,published_at\n{date(2025, 1, 2)},USD,1.04,2025-01-02T16:00:00\n"
    )
    server, thread = start_server(data, token="roles-token")
    try:
        for _night in range(2):  # the second merge finds the rows in place
            run_api_ingest(night, server.url, "roles-token", tmp_path / "dlt", log=lambda _m: None)
    finally:
        stop_server(server, thread)
    with night.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname like '%\\_staging'")
        assert cur.fetchall() == []
        cur.execute(
            "select tableowner from pg_tables where schemaname = 'raw_bank_api' and tablename = 'survey_responses'"
        )
        assert cur.fetchone() == (roles.LOADER,)
        cur.execute("select count(*) from raw_bank_api.survey_responses")
        assert cur.fetchone() == (1,)


@pytest.fixture(scope="module")
def embedded_server() -> Iterator[warehouse.Warehouse]:
    """The session's embedded server, or (when the session runs on an external server) a throw-away one: the
    embedded server's authentication is what is tested here."""
    if not warehouse.uses_external_server():
        yield warehouse.resolve(log=lambda *_: None)
        return
    root = Path(tempfile.mkdtemp(prefix="bankwh-roles-")) / "wh"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PG")}
    os.environ.update(BANKWH_WAREHOUSE_DIR=str(root), BANKWH_EMBEDDED_PORT=str(port))
    try:
        yield warehouse.resolve(log=lambda *_: None)
    finally:
        for key in ("BANKWH_WAREHOUSE_DIR", "BANKWH_EMBEDDED_PORT"):
            os.environ.pop(key, None)
        os.environ.update(saved)
        roles.forget_prepared()
        embedded.destroy(root)
        shutil.rmtree(root.parent, ignore_errors=True)


def _outside_address() -> str | None:
    """An address of this machine that is not loopback (the one its default route uses), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_the_embedded_server_refuses_password_less_tcp_and_listens_on_loopback_only(embedded_server):
    admin = embedded_server
    assert admin.on_socket and admin.user == embedded.SUPERUSER and admin.password == ""
    for user in (embedded.SUPERUSER, roles.ANALYST):
        with pytest.raises(psycopg2.OperationalError) as refused:
            psycopg2.connect(host="127.0.0.1", port=admin.port, user=user, dbname="postgres", connect_timeout=5)
        assert "password" in str(refused.value)
    with pytest.raises(psycopg2.OperationalError) as wrong:
        replace(admin, host="127.0.0.1", user=roles.ANALYST, password="not-the-password").connect()
    assert "password authentication failed" in str(wrong.value)
    with admin.cursor() as cur:
        cur.execute("show listen_addresses")
        assert cur.fetchone() == ("127.0.0.1",)
        cur.execute("select type, database, user_name, auth_method from pg_hba_file_rules where error is null")
        rules = cur.fetchall()
    trusted = [rule for rule in rules if rule[3] == "trust"]
    assert trusted == [("local", ["all"], [embedded.SUPERUSER], "trust")]
    assert not [rule for rule in rules if "replication" in rule[1]]
    assert {rule[3] for rule in rules} == {"trust", "scram-sha-256"}
    socket_dir = Path(admin.host)
    assert socket_dir.stat().st_mode & 0o077 == 0, "the admin socket's directory is the server user's alone"
    outside = _outside_address()
    if outside is not None:  # a machine with only loopback has nothing else to listen on
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(host=outside, port=admin.port, user="postgres", dbname="postgres", connect_timeout=3)


def test_the_export_reads_the_candidate_as_the_exporter(night, tmp_path):
    """The Delta export of a candidate connects as the exporter: the mart dbt built (granted) is exported, a table
    the admin planted in the candidate (never granted) is refused."""
    from publishing.delta_export import ExportConfig, export_marts

    config = ExportConfig(root=tmp_path / "delta", schema="marts_blue")
    results = export_marts(night, config=config, log=lambda _m: None)
    assert [(r.mart, r.rows, r.parity_ok) for r in results] == [("dim_accounts", 1, True)]
    with night.cursor() as cur:
        cur.execute("create table marts_blue.dim_planted as select 1 as n")
    try:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege) as denied:
            export_marts(night, marts=["dim_planted"], config=config, log=lambda _m: None)
        assert "permission denied for table dim_planted" in str(denied.value)
    finally:
        with night.cursor() as cur:
            cur.execute("drop table marts_blue.dim_planted")


def test_a_source_schema_the_admin_creates_is_read_by_the_transformer_only(night):
    """A source loaded by another tool as the admin (a schema of its own): dbt, as the transformer, reads it; no
    other role does, and the transformer cannot write it."""
    with night.cursor() as cur:
        cur.execute("create schema crm; create table crm.contacts as select 1 as contact_id")
    with _as(night, roles.TRANSFORMER).cursor() as cur:
        cur.execute("select contact_id from crm.contacts")
        assert cur.fetchall() == [(1,)]
    statements = [(role, "select * from crm.contacts") for role in (roles.ANALYST, roles.EXPORTER, roles.LOADER)]
    for role, statement in [*statements, (roles.TRANSFORMER, "insert into crm.contacts values (2)")]:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege), _as(night, role).cursor() as cur:
            cur.execute(statement)
