"""The dlt side of the warehouse connection: one destination and one pipeline name per warehouse database.

dlt keeps pipeline state (incremental cursors, pending load packages) locally under the pipeline name. Naming the
pipeline after the server and database it loads into keeps two warehouses (the embedded one, a server named by
PGHOST, a test database) from sharing a cursor, which would make the second one silently load nothing.

dlt loads as the role `bankwh_loader` where the warehouse has it (warehouse/roles.py: it writes the raw schemas
and nothing else), else as the given user. A merge (the bank API) goes through dlt's staging dataset
(`<schema>_staging`), a copy of the delivered rows: it is dropped once each load is complete, so no copy of
delivered data stays outside the raw schema it was loaded into.
"""

from __future__ import annotations

import re

from warehouse import Warehouse, roles


def postgres_destination(wh: Warehouse):
    """A dlt PostgreSQL destination for the warehouse, as the loader role where there is one; an empty password
    (trust auth) stays empty, not missing; a unix socket directory travels as libpq's `host` parameter."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    wh = wh.for_role(roles.LOADER)
    creds = PostgresCredentials()
    creds.database, creds.username, creds.password = wh.database, wh.user, wh.password
    creds.host, creds.port = ("localhost", wh.port) if wh.on_socket else (wh.host, wh.port)
    if wh.on_socket:
        creds.query = {"host": wh.host}
    creds.resolve()
    return _postgres_dropping_staging()(credentials=creds)


def _postgres_dropping_staging():
    """dlt's postgres destination whose client drops the staging dataset after every completed load."""
    from dlt.destinations import postgres
    from dlt.destinations.impl.postgres.postgres import PostgresClient

    class Client(PostgresClient):
        def complete_load(self, load_id: str) -> None:
            super().complete_load(load_id)
            with self.with_staging_dataset():
                if self.sql_client.has_dataset():
                    self.sql_client.drop_dataset()

    class Destination(postgres):
        @property
        def client_class(self) -> type[PostgresClient]:
            return Client

    return Destination


def pipeline_name(prefix: str, wh: Warehouse) -> str:
    """`<prefix>_<host>_<port>_<database>`, made of word characters only (the host the loader reaches, so the
    name does not change with the admin's way in)."""
    wh = wh.for_role(roles.LOADER)
    host = "socket" if wh.host.startswith("/") else wh.host  # a socket folder's path would crowd dlt's log lines
    return re.sub(r"\W", "_", f"{prefix}_{host}_{wh.port}_{wh.database}")
