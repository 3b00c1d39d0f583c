"""No two nightly runs at once, and no writing command beside one: a PostgreSQL advisory lock held for the whole run
(the nightly flow, and `bankwh ingest`, `build` and `export` through bankwh/one_writer.py).

Why an advisory lock rather than a Prefect concurrency limit: the warehouse database is the thing two runs would
corrupt, it is there with or without a Prefect server (flow.serve on one machine, a worker in compose, a manual
`bankwh run`), and the lock is released by PostgreSQL itself when the holding process dies.
The lock lives on a dedicated connection whose application_name says who holds it, so a refused run can name it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2

APPLICATION_PREFIX = "bankwh lock"


class LockBusyError(RuntimeError):
    """Another writer holds the lock (and we were told not to wait, or waited too long)."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock` from a readable name."""
    return int.from_bytes(hashlib.sha256(f"bankwh:{name}".encode()).digest()[:8], "big", signed=True)


def holder(wh, name: str) -> str | None:
    """Who holds the lock `name` (application name and pid), or None when it is free."""
    key = lock_key(name)
    with wh.cursor() as cur:
        cur.execute(
            """
            select a.application_name, a.pid, a.backend_start
            from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and l.database = (
                select oid from pg_database where datname = current_database())
              and l.objsubid = 1 and ((l.classid::bigint << 32) | l.objid::bigint) = %s
            """,
            (key,),
        )
        row = cur.fetchone()
    return None if row is None else f"{row[0] or 'unknown'} (backend pid {row[1]}, since {row[2]:%Y-%m-%d %H:%M:%S})"


@contextmanager
def exclusive(
    wh,
    name: str = "nightly",
    *,
    wait: bool = True,
    timeout_s: float = 6 * 3600,
    poll_s: float = 5.0,
    owner: str = "",
    refusing: str = "a second",
    log: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold the lock `name` in the warehouse database for the duration of the block.

    wait=False refuses at once when another run holds it; wait=True polls until it is free or `timeout_s` passed.
    Either way the refusal (LockBusyError) names the holder and what was not started (`refusing`). Never
    interleaves: the block runs only under the lock.
    """
    key = lock_key(name)
    conn = wh.connect(application_name=f"{APPLICATION_PREFIX} {name} {owner}".strip()[:63])
    conn.autocommit = True
    try:
        deadline = time.monotonic() + timeout_s
        announced = False
        while True:
            with conn.cursor() as cur:
                cur.execute("select pg_try_advisory_lock(%s)", (key,))
                if cur.fetchone()[0]:
                    break
            who = holder(wh, name) or "another run"
            if not wait:
                raise LockBusyError(f"a {name} writer is already running: lock held by {who}; not starting {refusing}")
            if time.monotonic() >= deadline:
                raise LockBusyError(f"gave up after {timeout_s:.0f} s waiting for the {name} lock held by {who}")
            if not announced:
                log(f"waiting for the {name} lock held by {who} ...")
                announced = True
            time.sleep(poll_s)
        try:
            yield
        finally:
            try:
                with conn.cursor() as cur:
                    cur.execute("select pg_advisory_unlock(%s)", (key,))
            except psycopg2.Error:
                # the connection is gone (a stopped server): the server released the session's lock with it, and
                # the block's own error, if any, is the one to report
                pass
    finally:
        conn.close()
