"""`bankwh erase --client-id ID`: a data subject's erasure request, carried out in the raw layer.

The raw layer is where every personal value of the warehouse comes from (ingest/erasure.py says what is
overwritten); the command then names the rebuild and export that carry the erasure into the marts and Delta.
"""

from __future__ import annotations

import argparse

from bankwh.one_writer import add_wait_option, one_writer

NEXT_STEPS = (
    "next: `bankwh run --full-refresh` twice (both candidate schemas rebuilt from raw), then "
    "`bankwh export --full --retention-hours 0` (Delta rewritten, older versions vacuumed)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "erase",
        help="erase one client's personal data from the raw layer (a data subject's request)",
        description=(
            "Overwrite one client's personal values in the raw layer, in one transaction: names become 'erased'; "
            "national id, e-mail, phone, street, postal code, city and birth date NULL in every delivered version; "
            "the IBANs of its accounts NULL, also where other transactions name them as counterparty; its survey "
            "comments NULL; quarantined lines holding its id or identifiers replaced by '[erased]'. Rows, keys and "
            "amounts stay, so the warehouse's figures do not move. The command holds the nightly run's lock."
        ),
        epilog=NEXT_STEPS.replace("next: ", "Then: ") + ". README, 'Personal data', has the whole procedure.",
    )
    parser.add_argument("--client-id", required=True, help="the client's id as the core-banking exports spell it")
    add_wait_option(parser)
    parser.set_defaults(func=_erase)


def _erase(args: argparse.Namespace) -> int:
    import warehouse
    from ingest.erasure import erase_client

    wh = warehouse.resolve()
    with one_writer(wh, args, "erase"):
        conn = wh.connect()
        try:
            result = erase_client(conn, args.client_id)
        finally:
            conn.close()
    print(result.summary(), flush=True)
    print(NEXT_STEPS, flush=True)
    return 0
