"""One writer at a time: `bankwh ingest`, `build`, `export` and `run` hold the nightly run's lock while they write.

Why the nightly lock and not one per command: they all write the same warehouse (raw tables, dbt schemas, the Delta
tables), and a build reading raw tables an ingest is replacing, or an export reading marts a build is rebuilding,
gives a result of neither state. One lock for all of them keeps every writer whole; it is PostgreSQL's advisory lock
(`warehouse/locking.py`), released by the server when the holder dies, so a killed command never blocks the next.
The option and the lock live here once, so every writing command waits or refuses the same way.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from warehouse import locking

#: The lock every writer takes: the one the nightly flow holds for its whole run (orchestration/flows.py).
LOCK_NAME = "nightly"
#: How often a waiting command asks again; short, because a person is usually watching.
POLL_S = 2.0


def add_wait_option(parser: argparse.ArgumentParser) -> None:
    """`--no-wait`: refuse at once (exit 1, naming the holder) instead of waiting for the lock."""
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="refuse (exit 1 naming the holder) instead of waiting while the nightly run or another writing "
        "command (ingest, build, export) holds the warehouse's lock",
    )


@contextmanager
def one_writer(wh, args: argparse.Namespace, command: str) -> Iterator[None]:
    """Hold the nightly lock for the block: wait with one line naming the holder, or refuse with --no-wait.

    The owner recorded with the lock is the command and its process id, so whoever waits or is refused reads who.
    """
    with locking.exclusive(
        wh,
        LOCK_NAME,
        wait=not args.no_wait,
        poll_s=POLL_S,
        owner=f"bankwh {command} pid {os.getpid()}",
        refusing=f"bankwh {command}",
        log=lambda line: print(line, flush=True),
    ):
        yield
