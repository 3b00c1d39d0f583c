"""Least privilege: the warehouse's four roles, their passwords, and what each may touch in a database.

Why roles at all: every step used to run as the superuser, so a bug in a dbt model or a hostile landing file
could rewrite raw data, the published marts or the roles themselves. Each role holds only what its step needs:

| role                 | may                                                                                    |
|----------------------|----------------------------------------------------------------------------------------|
| `bankwh_loader`      | own and write the raw schemas (`raw_*`, dlt's `raw_*_staging`); nothing else            |
| `bankwh_transformer` | read raw and `monitoring`; own and write the dbt schemas (it creates them, CREATE on db) |
| `bankwh_exporter`    | read `marts` and the candidate schemas `marts_blue` / `marts_green`; write nothing     |
| `bankwh_analyst`     | read `marts` (the published night, views only); nothing else                           |

None is a superuser, none may create roles or databases. They are LOGIN roles with passwords: from the
environment (`BANKWH_LOADER_PASSWORD`, `BANKWH_TRANSFORMER_PASSWORD`, `BANKWH_EXPORTER_PASSWORD`,
`BANKWH_ANALYST_PASSWORD`) when set, else, for the embedded server, generated once and kept in
`.warehouse/role-passwords.json` (mode 0600). On an external server a role without a password in the environment
is created without one (a server with password authentication then refuses it) and the steps keep the given user.

`apply` is idempotent (roles created or updated, grants re-issued, objects a former superuser run created handed to
their role) and runs under advisory locks, so concurrent commands do not trip over each other. Objects created
later keep the rules through default privileges, dbt's `grants` (dbt_project.yml) and one event trigger: any table
or schema created in a `raw_*` schema, by whoever, belongs to the loader (the ingest's own bookkeeping runs as the
admin and creates raw tables that dlt, as the loader, must be able to alter when a file brings a new column).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import embedded

LOADER = "bankwh_loader"
TRANSFORMER = "bankwh_transformer"
EXPORTER = "bankwh_exporter"
ANALYST = "bankwh_analyst"
ROLES = (LOADER, TRANSFORMER, EXPORTER, ANALYST)

#: The raw schemas the loaders write (ingest/contract.py, ingest/raw_tables.py); created owned by the loader.
RAW_SCHEMAS = ("raw_core_banking", "raw_berka", "raw_bank_api")
#: The schemas the nightly dbt build writes the marts into, in turn (publishing/publish.py SLOTS).
CANDIDATE_SCHEMAS = ("marts_blue", "marts_green")
#: What analysts read: views moved by the publication (publishing/publish.py PUBLISHED_SCHEMA).
PUBLISHED_SCHEMA = "marts"
MONITORING_SCHEMA = "monitoring"
#: What the export reads (the published night, or tonight's candidate before it is published).
EXPORTER_SCHEMAS = (PUBLISHED_SCHEMA, *CANDIDATE_SCHEMAS)
#: dbt's schemas (dbt_project.yml; `privacy`: the pseudonym functions of its on-run-start hook, macros/privacy.sql);
#: an older warehouse built them as the superuser: they go to the transformer.
DBT_SCHEMAS = ("staging", "intermediate", "snapshots", "reference", "marts_dev", "privacy", *CANDIDATE_SCHEMAS)
#: Where the event trigger's function lives: the admin's, no role may use it.
ADMIN_SCHEMA = "bankwh_admin"
EVENT_TRIGGER = "bankwh_raw_objects_to_loader"
PASSWORDS_FILE = "role-passwords.json"
#: What profiles.yml reads to run dbt as the transformer (apply_env sets them; empty means the PG* user).
DBT_VARIABLES = ("BANKWH_DBT_ROLE_FOR", "BANKWH_DBT_HOST", "BANKWH_DBT_USER", "BANKWH_DBT_PASSWORD")

#: Databases (host, port, database) this process prepared or found prepared.
_prepared: set[tuple[str, int, str]] = set()


def password_variable(role: str) -> str:
    """`bankwh_loader` → `BANKWH_LOADER_PASSWORD`."""
    return f"BANKWH_{role.removeprefix('bankwh_').upper()}_PASSWORD"


def passwords_path() -> Path:
    return embedded.warehouse_dir() / PASSWORDS_FILE


def embedded_passwords() -> dict[str, str]:
    """The embedded server's generated role passwords (created on first use, mode 0600, under a file lock so two
    commands starting at once agree on them)."""
    import fcntl

    path = passwords_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = json.loads(path.read_text()) if path.exists() else {}
        if any(not known.get(role) for role in ROLES):
            known = {role: known.get(role) or secrets.token_urlsafe(24) for role in ROLES}
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(known, handle, indent=2)
            os.replace(tmp, path)
        path.chmod(0o600)
    return known


def password(role: str, embedded_server: bool) -> str | None:
    """The role's password: its environment variable, else (embedded server) the generated one, else None."""
    if os.environ.get(password_variable(role)):
        return os.environ[password_variable(role)]
    return embedded_passwords()[role] if embedded_server else None


def _key(wh) -> tuple[str, int, str]:
    return (wh.host, int(wh.port), wh.database)


def prepared(wh) -> bool:
    """True once `apply` ran on this database (the transformer may create schemas in it)."""
    if _key(wh) in _prepared:
        return True
    with wh.cursor() as cur:
        cur.execute(
            "select case when exists (select from pg_roles where rolname = %s) "
            "then has_database_privilege(%s, current_database(), 'CREATE') else false end",
            (TRANSFORMER, TRANSFORMER),
        )
        found = bool(cur.fetchone()[0])
    if found:
        _prepared.add(_key(wh))
    return found


def as_role(wh, role: str):
    """`wh` as `role` when the role can be used there (see Warehouse.for_role), else `wh` itself.

    On the embedded server a role logs in over TCP on loopback with its password (scram); elsewhere on the host
    PGHOST names. A database `apply` never prepared (a test's scratch database) keeps the given user.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; the warehouse's roles are {', '.join(ROLES)}")
    if wh.user == role:
        return wh
    secret = password(role, wh.embedded)
    if secret is None or not prepared(wh):
        return wh
    return replace(wh, host="127.0.0.1" if wh.embedded else wh.host, user=role, password=secret)


def dbt_env(wh) -> dict[str, str]:
    """The variables profiles.yml reads to run dbt as the transformer on this database (empty when it cannot).

    `BANKWH_DBT_ROLE_FOR` names the server and database (`PGHOST|PGPORT|PGDATABASE`): profiles.yml uses the role only
    while the PG* variables still name them, so a process that later points PG* at another database (a test's
    scratch database, never prepared) runs dbt as the given user again.
    """
    role = wh.for_role(TRANSFORMER)
    if role is wh:
        return dict.fromkeys(DBT_VARIABLES, "")
    return {
        "BANKWH_DBT_ROLE_FOR": f"{wh.host}|{wh.port}|{wh.database}",
        "BANKWH_DBT_HOST": role.host,
        "BANKWH_DBT_USER": role.user,
        "BANKWH_DBT_PASSWORD": role.password,
    }


def ensure(wh, prepare: bool = False, log: Callable[[str], None] = print) -> None:
    """Once per process and database: the roles exist on the server (dbt's `+grants` names them), and the
    database's grants are brought up to date when `prepare` (the warehouse just created it) or when it was prepared
    before. A database nobody prepared (a test's scratch database) keeps only the given user; `bankwh db roles`
    prepares one. On an external server whose user may not create roles or grant: one warning line, and every step
    keeps the given user."""
    import psycopg2

    if _key(wh) in _prepared:
        return
    try:
        if prepare or prepared(wh):
            apply(wh)
        else:
            _ensure_roles(wh, {role: password(role, wh.embedded) for role in ROLES}, missing_only=True)
    except psycopg2.errors.InsufficientPrivilege as exc:
        if wh.embedded:
            raise
        log(
            f"roles: not set up on {wh.host}:{wh.port} ({str(exc).strip()}); every step runs as {wh.user}. "
            "Run `bankwh db roles` as a user who may create roles."
        )
        _prepared.add(_key(wh))  # do not try again in this process


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ensure_roles(admin, passwords: dict[str, str | None], missing_only: bool = False) -> list[str]:
    """Create or update the four roles (cluster-wide, from the maintenance database, one process at a time);
    `missing_only` creates the missing ones and leaves the others as they are."""
    done = []
    with admin.with_database("postgres").cursor(autocommit=False) as cur:
        cur.execute("select count(*) from pg_roles where rolname = any(%s)", (list(ROLES),))
        if missing_only and cur.fetchone()[0] == len(ROLES):
            return done
        cur.execute("select pg_advisory_xact_lock(hashtext('bankwh.roles'))")
        for role in ROLES:
            cur.execute("select 1 from pg_roles where rolname = %s", (role,))
            verb = "alter" if cur.fetchone() else "create"
            if missing_only and verb == "alter":
                continue
            attributes = "login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit"
            secret = passwords.get(role)
            if secret:
                cur.execute(f"{verb} role {_ident(role)} with {attributes} password %s", (secret,))
            else:  # never wipe a password someone set outside the project
                cur.execute(f"{verb} role {_ident(role)} with {attributes}")
            done.append(f"{verb} {role}" + (" (password)" if secret else " (no password)"))
    return done


#: The warehouse's own schemas, which a schema created by the admin for a source of its own is none of.
_OWN_SCHEMAS = ", ".join(f"'{name}'" for name in (*DBT_SCHEMAS, ADMIN_SCHEMA, MONITORING_SCHEMA, "public"))
EVENT_TRIGGER_SQL = f"""
create schema if not exists {ADMIN_SCHEMA};
revoke all on schema {ADMIN_SCHEMA} from public;
create or replace function {ADMIN_SCHEMA}.raw_objects_to_loader() returns event_trigger language plpgsql as $fn$
declare
    command record;
begin
    for command in select * from pg_event_trigger_ddl_commands() loop
        if command.object_type = 'schema' and command.object_identity like 'raw\\_%' then
            execute format('alter schema %s owner to {LOADER}', command.object_identity);
        elsif command.object_type = 'schema' and command.object_identity not like 'marts%'
              and command.object_identity not in ({_OWN_SCHEMAS})
              and (select rolsuper from pg_roles where rolname = current_user) then
            -- a source schema of the admin's own (loaded by another tool): the transformer reads it, as it reads raw
            execute format('grant usage on schema %s to {TRANSFORMER}', command.object_identity);
            execute format('alter default privileges in schema %s grant select on tables to {TRANSFORMER}',
                           command.object_identity);
        elsif command.object_type = 'table' and command.schema_name like 'raw\\_%' then
            execute format('alter table %s owner to {LOADER}', command.object_identity);
            if command.schema_name not like '%\\_staging' then
                execute format('grant select on %s to {TRANSFORMER}', command.object_identity);
            end if;
        end if;
    end loop;
end
$fn$;
"""


def _hand_over(cur, schema: str, owner: str) -> int:
    """Make `owner` the owner of `schema` and of every relation in it (what a superuser run created before the
    roles existed); returns the number of objects changed."""
    changed = 0
    cur.execute("select pg_get_userbyid(nspowner) from pg_namespace where nspname = %s", (schema,))
    row = cur.fetchone()
    if row is None:
        return 0
    if row[0] != owner:
        cur.execute(f"alter schema {_ident(schema)} owner to {_ident(owner)}")
        changed += 1
    cur.execute(
        """
        select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
          and pg_get_userbyid(c.relowner) <> %s
          and not exists (select from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')
                          and d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass)
        """,
        (schema, owner),
    )
    kinds = {"v": "view", "m": "materialized view", "S": "sequence"}
    for name, kind in cur.fetchall():
        cur.execute(f"alter {kinds.get(kind, 'table')} {_ident(schema)}.{_ident(name)} owner to {_ident(owner)}")
        changed += 1
    cur.execute(
        "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where n.nspname = %s and pg_get_userbyid(p.proowner) <> %s and p.prokind in ('f', 'p')",
        (schema, owner),
    )
    for (signature,) in cur.fetchall():
        cur.execute(f"alter routine {signature} owner to {_ident(owner)}")
        changed += 1
    return changed


def _grant_database(cur, database: str) -> None:
    db = _ident(database)
    cur.execute(f"revoke all on database {db} from public")
    cur.execute(f"grant connect on database {db} to {', '.join(ROLES)}")
    # the loader creates dlt's staging schema, the transformer dbt's schemas; temporary tables for dbt's merges
    cur.execute(f"grant create, temporary on database {db} to {LOADER}, {TRANSFORMER}")
    cur.execute("revoke create on schema public from public")


def _grant_raw(cur) -> None:
    for schema in RAW_SCHEMAS:
        cur.execute(f"create schema if not exists {_ident(schema)} authorization {LOADER}")
    cur.execute("select nspname from pg_namespace where nspname like 'raw\\_%%' order by 1")
    for (schema,) in cur.fetchall():
        _hand_over(cur, schema, LOADER)
        s = _ident(schema)
        if schema.endswith("_staging"):  # dlt's scratch copy: the loader's alone
            cur.execute(f"revoke all on schema {s} from {TRANSFORMER}")
            continue
        cur.execute(f"grant usage on schema {s} to {TRANSFORMER}")
        cur.execute(f"grant select on all tables in schema {s} to {TRANSFORMER}")
        cur.execute(f"alter default privileges for role {LOADER} in schema {s} grant select on tables to {TRANSFORMER}")


def _grant_dbt(cur) -> None:
    for schema in CANDIDATE_SCHEMAS:
        cur.execute(f"create schema if not exists {_ident(schema)} authorization {TRANSFORMER}")
    for schema in DBT_SCHEMAS:
        _hand_over(cur, schema, TRANSFORMER)
    for schema in CANDIDATE_SCHEMAS:  # the export reads tonight's candidate before it is published
        s = _ident(schema)
        cur.execute(f"grant usage on schema {s} to {EXPORTER}")
        cur.execute(f"grant select on all tables in schema {s} to {EXPORTER}")
        cur.execute(
            f"alter default privileges for role {TRANSFORMER} in schema {s} grant select on tables to {EXPORTER}"
        )


def _grant_published(cur) -> None:
    """`marts` and `monitoring` belong to the admin (the publication moves the views, the night records history);
    whatever the admin creates there later is readable by the roles through default privileges."""
    marts, monitoring = _ident(PUBLISHED_SCHEMA), _ident(MONITORING_SCHEMA)
    cur.execute(f"create schema if not exists {marts}")
    cur.execute(f"grant usage on schema {marts} to {ANALYST}, {EXPORTER}")
    cur.execute(f"grant select on all tables in schema {marts} to {ANALYST}, {EXPORTER}")
    cur.execute(f"alter default privileges in schema {marts} grant select on tables to {ANALYST}, {EXPORTER}")
    cur.execute(f"create schema if not exists {monitoring}")
    cur.execute(f"grant usage on schema {monitoring} to {TRANSFORMER}")  # dbt's source `monitoring`
    cur.execute(f"grant select on all tables in schema {monitoring} to {TRANSFORMER}")
    cur.execute(f"alter default privileges in schema {monitoring} grant select on tables to {TRANSFORMER}")


def _event_trigger(cur) -> bool:
    """Install the raw-ownership event trigger (superuser only); False when this user may not."""
    cur.execute("select rolsuper from pg_roles where rolname = current_user")
    if not cur.fetchone()[0]:
        return False
    cur.execute(EVENT_TRIGGER_SQL)
    cur.execute("select 1 from pg_event_trigger where evtname = %s", (EVENT_TRIGGER,))
    if cur.fetchone() is None:
        cur.execute(
            f"create event trigger {EVENT_TRIGGER} on ddl_command_end "
            "when tag in ('CREATE SCHEMA', 'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO') "
            f"execute function {ADMIN_SCHEMA}.raw_objects_to_loader()"
        )
    return True


def apply(admin, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Create or update the roles, then grant in `admin.database` what each may do; idempotent.

    `admin` must be allowed to create roles and grant (the embedded server's superuser; on an external server a
    superuser, or a CREATEROLE user who owns the database, without the raw-ownership event trigger).
    """
    passwords = {role: password(role, admin.embedded) for role in ROLES}
    done = _ensure_roles(admin, passwords)
    with admin.cursor(autocommit=False) as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('bankwh.roles'))")
        cur.execute("set local lock_timeout = '60s'")
        _grant_database(cur, admin.database)
        trigger = _event_trigger(cur)
        _grant_raw(cur)
        _grant_dbt(cur)
        _grant_published(cur)
    _prepared.add(_key(admin))
    if log is not None:
        for line in done:
            log(f"role {line}")
        log(f"grants applied in database {admin.database}" + ("" if trigger else " (no event trigger: not superuser)"))
    return {"roles": done, "database": admin.database, "event_trigger": trigger}


def forget_prepared() -> None:
    """Forget which databases this process prepared (a test that drops and recreates one)."""
    _prepared.clear()
