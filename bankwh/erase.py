"""`bankwh erase --client ID`: a data subject's erasure request, carried out in every layer.

The raw layer is where every personal value of the warehouse comes from (ingest/erasure.py says what is
overwritten). The command then carries the erasure through everything derived from it:
1. raw: the client's personal values overwritten in one transaction, under the nightly lock;
2. a full-refresh night without ingest (the nightly flow, which takes the lock itself): staging, intermediate,
   snapshots and every mart rebuilt from raw into the candidate schema, tested, exported whole to Delta and
   published;
3. every table and view of the other candidate schema (the night before, which readers no longer see) and of the
   developers' `marts_dev` dropped: they were built before the erasure; the next night rebuilds its slot whole;
4. Delta: every table keeps its current version only (older commits, whose statistics hold old values, and every
   file they reference deleted; publishing/delta_export.py `drop_history`).
`--raw-only` stops after step 1 for an operator who runs the rest themselves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bankwh.one_writer import add_wait_option, one_writer
from warehouse.project import project_path

NEXT_STEPS = (
    "next: `bankwh run --full-refresh` twice (both candidate schemas rebuilt from raw), then "
    "`bankwh export --full --retention-hours 0` (Delta rewritten, older versions vacuumed)"
)
STEPS = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "erase",
        help="erase one client's personal data in raw, staging, snapshots, marts and Delta (a data subject's request)",
        description=(
            "Overwrite one client's personal values in the raw layer, in one transaction: names become 'erased'; "
            "national id, e-mail, phone, street, postal code, city and birth date NULL in every delivered version; "
            "the IBANs of its accounts NULL, also where other transactions name them as counterparty; its survey "
            "comments NULL; quarantined lines holding its id or identifiers replaced by '[erased]'. Rows, keys and "
            "amounts stay, so the warehouse's figures do not move. Then, unless --raw-only: a full-refresh night "
            "without ingest (staging, intermediate, snapshots and marts rebuilt from raw, exported whole to Delta "
            "and published), the tables of the other candidate schema and of marts_dev dropped, and every Delta "
            "table left with its current version only (older versions' files and commits deleted). Each step holds "
            "the nightly lock."
        ),
        epilog="README, 'Personal data', has the whole procedure.",
    )
    parser.add_argument(
        "--client",
        "--client-id",
        dest="client_id",
        required=True,
        metavar="ID",
        help="the client's id as the core-banking exports spell it",
    )
    parser.add_argument(
        "--raw-only",
        action="store_true",
        help="erase in the raw layer only and print the rest of the procedure (you run the night and export)",
    )
    parser.add_argument("--delta-root", type=Path, default=None, help="Delta tables folder (default: data/delta)")
    parser.add_argument("--dbt-target-dir", type=Path, default=None, help="dbt's target folder for the night "
                        "(default: target in the dbt project)")  # fmt: skip
    add_wait_option(parser)
    parser.set_defaults(func=_erase)


def _erase(args: argparse.Namespace) -> int:
    import warehouse
    from ingest.erasure import erase_client

    started = time.perf_counter()
    wh = warehouse.resolve()
    steps = 1 if args.raw_only else STEPS
    with one_writer(wh, args, "erase"):
        conn = wh.connect()
        try:
            result = erase_client(conn, args.client_id)
        finally:
            conn.close()
    client = result.client_id
    print(f"[1/{steps}] raw: {result.summary()}", flush=True)
    if args.raw_only:
        print(NEXT_STEPS, flush=True)
        print(f"bankwh erase: client {client} erased in the raw layer only", flush=True)
        return 0

    root = args.delta_root or project_path("data", "delta")
    schema = _full_refresh_night(args, root, client)
    print(f"[2/{steps}] night: staging, intermediate, snapshots and marts rebuilt from raw into {schema}, exported "
          f"whole to Delta and published", flush=True)  # fmt: skip
    with one_writer(wh, args, "erase"):
        dropped = _drop_stale_marts(wh)
        print(f"[3/{steps}] stale marts built before the erasure emptied: {', '.join(dropped) or 'none'}",
              flush=True)  # fmt: skip
        from publishing.delta_export import drop_history

        deleted = drop_history(root)
    print(f"[4/{steps}] Delta: {len(deleted)} table(s) under {root} keep their current version only, "
          f"{sum(deleted.values())} older file(s) deleted", flush=True)  # fmt: skip
    print(f"bankwh erase: client {client} erased from raw, staging, intermediate, snapshots, marts and Delta "
          f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return 0


def _full_refresh_night(args: argparse.Namespace, root: Path, client: str) -> str:
    """The nightly flow with --full-refresh and no ingest (it takes the nightly lock itself); the schema it
    published. A night that does not publish raises, naming what is already done."""
    from bankwh.run import quiet_console
    from orchestration import prefect_local

    prefect_local.quiet_defaults()
    log_file = project_path("logs", "bankwh-run.log")
    print(f"full-refresh night (no ingest) to carry the erasure into every layer; every line in {log_file} ...",
          flush=True)  # fmt: skip
    with prefect_local.project_api(log=lambda line: print(line, flush=True)), quiet_console(log_file):
        from orchestration.flows import nightly

        state = nightly(
            sources=[],
            full_refresh=True,
            delta_root=str(root),
            dbt_target_dir=str(args.dbt_target_dir) if args.dbt_target_dir else None,
            wait_for_lock=not args.no_wait,
            return_state=True,
        )
    try:
        summary = state.result()
    except Exception as exc:
        raise RuntimeError(
            f"the full-refresh night did not publish ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            f"; client {client} is erased in raw only: once the cause is fixed, run `bankwh erase --client {client}` "
            "again"
        ) from exc
    if summary.get("status") != "published":
        raise RuntimeError(f"the full-refresh night ended {summary.get('status')!r}, not published; client {client} "
                           f"is erased in raw only: run `bankwh erase --client {client}` again")  # fmt: skip
    return str(summary["schema"])


def _drop_stale_marts(wh) -> list[str]:
    """Empty the candidate schema readers do not see and `marts_dev`: both were built before the erasure. The
    schemas stay, with their owner and grants (warehouse/roles.py); the next night rebuilds its slot whole.

    The slot readers see is read again here, under the lock: a night that ran between the erasure's night and this
    step published the other slot (rebuilt from the erased raw layer too), and emptying it would empty the marts."""
    from publishing import publish

    kinds = {"r": "table", "p": "table", "f": "foreign table", "v": "view", "m": "materialized view"}
    emptied = []
    with wh.cursor() as cur:
        record = publish.last_published(cur)
        if record is None:
            raise RuntimeError("no published night after the erasure's night: nothing emptied")
        stale = [s for s in (*publish.SLOTS, publish.DEV_SCHEMA) if s != record.schema]
        for schema in stale:
            cur.execute(
                "select c.relname, c.relkind from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relkind = any(%s) and not c.relispartition",
                (schema, list(kinds)),
            )
            relations = cur.fetchall()
            for name, kind in relations:
                cur.execute(f'drop {kinds[kind]} if exists "{schema}"."{name}" cascade')
            if relations:
                emptied.append(f"{schema} ({len(relations)} relations)")
    return emptied
