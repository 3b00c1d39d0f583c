"""The one place that decides which PostgreSQL the warehouse uses.

Rule: when `PGHOST` is set, the standard libpq variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
`PGDATABASE`) describe an existing server and nothing is started. Otherwise the embedded server under
`.warehouse/` is started (or reused). Every other part of the project (dlt, dbt, Prefect, tests) receives a
`Warehouse` from here, so the same code runs on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import quote

from . import embedded

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
        """SQLAlchemy/dlt style URL (`postgresql://user:pw@host:port/db`)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.database, safe='')}"

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


def ensure_database(wh: Warehouse) -> None:
    """Create the warehouse database when the server does not have it yet."""
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
            if cur.fetchone() is None:
                cur.execute(sql.SQL("create database {}").format(sql.Identifier(wh.database)))
    finally:
        conn.close()


def resolve(start: bool = True, log=print) -> Warehouse:
    """The warehouse to use now: external when PGHOST is set, else the embedded server (started if needed)."""
    if uses_external_server():
        wh = from_env()
    else:
        state = embedded.start(log=log) if start else embedded.status()
        wh = Warehouse(
            host="127.0.0.1",
            port=state.port,
            user=embedded.SUPERUSER,
            password="",
            database=os.environ.get("PGDATABASE", DEFAULT_DATABASE),
            embedded=True,
        )
    if start:
        ensure_database(wh)
    return wh


def apply_env(wh: Warehouse) -> None:
    """Export the warehouse's libpq variables into this process, so dbt's profiles.yml and children see them."""
    os.environ.update(wh.env())
