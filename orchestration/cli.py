"""`bankwh`: the one command line of the bank warehouse.

Each area of the project registers its own sub-commands (see COMMAND_MODULES), so this file stays a table of
contents. Heavy imports (dbt, dlt, Prefect) happen inside the command functions, which keeps `bankwh --help` fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules with a `register(subparsers)` function, in the order their commands appear in `bankwh --help`.
COMMAND_MODULES = [
    "orchestration.db_cli",
    "bank_sim.cli",
    "bank_sim.api_cli",
    "ingest.cli",
    "orchestration.dbt_cli",
    "orchestration.flow_cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bankwh",
        description=(
            "Bank warehouse: generate the demo bank, ingest its exports with dlt, build the star schema with dbt, "
            "export the marts to Delta Lake and run it all nightly with Prefect."
        ),
        epilog=(
            "Connection: set PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE to use an existing PostgreSQL; "
            "without PGHOST the embedded server under .warehouse/ is used. "
            "Run `bankwh COMMAND --help` for the options of a command."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (RuntimeError, ConnectionError, FileNotFoundError, ValueError) as exc:
        # Known failures get one clear line (the message names the file, rule or server), not a traceback.
        print(f"bankwh {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
