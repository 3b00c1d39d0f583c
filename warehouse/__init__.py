"""The database runtime of the bank warehouse: which PostgreSQL (embedded or external), how to reach it, the
project directory, the run lock and the PostgreSQL-to-Arrow reader.

Every other package (ingest, publishing, orchestration, bankwh) depends on this one and it depends on none of
them. The connection API is re-exported here so callers write `warehouse.resolve()` and `warehouse.Warehouse`.
"""

from . import roles
from .connection import (
    DEFAULT_DATABASE,
    LIBPQ_VARS,
    Warehouse,
    apply_env,
    ensure_database,
    from_env,
    resolve,
    uses_external_server,
)

__all__ = [
    "DEFAULT_DATABASE",
    "LIBPQ_VARS",
    "Warehouse",
    "apply_env",
    "ensure_database",
    "from_env",
    "resolve",
    "roles",
    "uses_external_server",
]
