"""The dlt side of the warehouse connection: one destination and one pipeline name per warehouse database.

dlt keeps pipeline state (incremental cursors, pending load packages) locally under the pipeline name. Naming the
pipeline after the server and database it loads into keeps two warehouses (the embedded one, a server named by
PGHOST, a test database) from sharing a cursor, which would make the second one silently load nothing.
"""

from __future__ import annotations

import re

from warehouse import Warehouse


def postgres_destination(wh: Warehouse):
    """A dlt PostgreSQL destination for the warehouse; an empty password (trust auth) stays empty, not missing."""
    import dlt
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    creds = PostgresCredentials()
    creds.database, creds.username, creds.password = wh.database, wh.user, wh.password
    creds.host, creds.port = wh.host, wh.port
    creds.resolve()
    return dlt.destinations.postgres(credentials=creds)


def pipeline_name(prefix: str, wh: Warehouse) -> str:
    """`<prefix>_<host>_<port>_<database>`, made of word characters only."""
    return re.sub(r"\W", "_", f"{prefix}_{wh.host}_{wh.port}_{wh.database}")
