"""The one place that decides which PostgreSQL the warehouse uses.

Rule: when `PGHOST` is set, the standard libpq variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
`PGDATABASE`) describe an existing server and nothing is started. Otherwise the embedded server under
`.warehouse/` is started (or reused), and the warehouse is its superuser on its admin socket (the only trusted
way in; `host` is then the socket's directory, as libpq spells it). Every other part of the project (dlt, dbt,
Prefect, tests) receives a `Warehouse` from here, so the same code runs on both.

`resolve()` is the admin's connection; `Warehouse.for_role(name)` is the same database as one of the least-privilege
roles (warehouse/roles.py), which each step of the night uses where its work is contained to one layer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import quote

from . import embedded, roles

DEFAULT_DATABASE = "bank"
LIBPQ_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


@dataclass(frozen=True)
class Warehouse:
    """Connection settings of the warehouse server and database."""

    host: str
    port: int
    user: str
    password: str
    database: str
    embedded: bool

    @property
    def url(self) -> str:
        """libpq URL: `postgresql://user:pw@host:port/db`, or the socket directory as the `host` parameter."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        database = quote(self.database, safe="")
        if self.on_socket:
            return f"postgresql://{auth}@/{database}?host={quote(self.host, safe='')}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    @property
    def on_socket(self) -> bool:
        """True when `host` is a unix socket directory (libpq: a host starting with a slash)."""
        return self.host.startswith("/")

    def for_role(self, role: str) -> Warehouse:
        """This database as `role` (roles.LOADER, TRANSFORMER, EXPORTER, ANALYST), or self when that role is not
        set up here: the embedded server's database prepared by `roles.apply`, or an external server with the
        role's password in the environment (`BANKWH_LOADER_PASSWORD` ...) and its database prepared."""
        return roles.as_role(self, role)

    def env(self) -> dict[str, str]:
        """The libpq variables that make `psql`, `dbt` and every project command reach this database."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.database,
        }

    def with_database(self, database: str) -> Warehouse:
        return replace(self, database=database)

    def connect(self, **kwargs):
        """A psycopg2 connection (autocommit off, as psycopg2 defaults)."""
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.database,
            connect_timeout=10,
            **kwargs,
        )

    @contextmanager
    def cursor(self, autocommit: bool = True) -> Iterator:
        conn = self.connect()
        conn.autocommit = autocommit
        try:
            with conn.cursor() as cur:
                yield cur
            if not autocommit:
                conn.commit()
        finally:
            conn.close()


def uses_external_server(environ: dict[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return bool(environ.get("PGHOST"))


def from_env(environ: dict[str, str] | None = None) -> Warehouse:
    """Settings from the libpq variables, without touching any server."""
    environ = os.environ if environ is None else environ
    return Warehouse(
        host=environ.get("PGHOST", "127.0.0.1"),
        port=int(environ.get("PGPORT", "5432")),
        user=environ.get("PGUSER", "postgres"),
        password=environ.get("PGPASSWORD", ""),
        database=environ.get("PGDATABASE", DEFAULT_DATABASE),
        embedded=False,
    )


def ensure_database(wh: Warehouse) -> bool:
    """Create the warehouse database when the server does not have it yet; True when it was created."""
    import psycopg2
    from psycopg2 import sql

    admin = wh.with_database("postgres")
    try:
        conn = admin.connect()
    except psycopg2.OperationalError as exc:
        raise ConnectionError(
            f"cannot connect to PostgreSQL at {wh.host}:{wh.port} as {wh.user}: {str(exc).strip()}"
        ) from exc
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (wh.database,))
            if cur.fetchone() is not None:
                return False
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(wh.database)))
            return True
    finally:
        conn.close()


def resolve(start: bool = True, log=print) -> Warehouse:
    """The warehouse to use now: external when PGHOST is set, else the embedded server (started if needed).

    With `start`, the database is created when missing, the least-privilege roles exist on the server, and a
    database the warehouse created, or one `bankwh db roles` prepared, has their grants brought up to date
    (roles.ensure: once per process; on an external server whose user may not create roles, a warning and the
    given user for every step). A database created by someone else (a test's scratch database) is left as it is.
    """
    if uses_external_server():
        wh = from_env()
    else:
        state = embedded.start(log=log) if start else embedded.status()
        wh = Warehouse(
            host=str(embedded.socket_dir()),
            port=state.port,
            user=embedded.SUPERUSER,
            password="",
            database=os.environ.get("PGDATABASE", DEFAULT_DATABASE),
            embedded=True,
        )
    if start:
        created = ensure_database(wh)
        roles.ensure(wh, prepare=created, log=log)
    return wh


def apply_env(wh: Warehouse) -> None:
    """Export the warehouse's libpq variables into this process, so dbt's profiles.yml and children see them, and
    the transformer's login that profiles.yml uses for dbt while PG* name this database (roles.dbt_env)."""
    os.environ.update(wh.env())
    os.environ.update(roles.dbt_env(wh))
