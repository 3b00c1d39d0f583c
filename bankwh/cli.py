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
    "bankwh.db",
    "bank_sim.cli",
    "bank_sim.api_cli",
    "bankwh.ingest",
    "bankwh.build",  # not dbt_*: dbt imports every dbt_* module on sys.path as a plugin
    "bankwh.run",
    "bankwh.serve",
    "bankwh.export",
    "bankwh.report",
    "bankwh.dashboard",
    "bankwh.erase",
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
        print(f"bankwh {args.command}: error: {_first_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything else (a lost database, a bug): one line here, the traceback in the log
        log = _log_traceback(args.command)
        print(f"bankwh {args.command}: error: {type(exc).__name__}: {_first_line(exc)} (traceback in {log})",
              file=sys.stderr)  # fmt: skip
        return 1
    return int(result or 0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _log_traceback(command: str) -> str:
    """Append the current exception's traceback to logs/bankwh-errors.log (under the working directory)."""
    import datetime
    import traceback
    from pathlib import Path

    path = Path("logs") / "bankwh-errors.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')} bankwh {command}\n")
            fh.write(traceback.format_exc())
    except OSError:
        traceback.print_exc()
        return "the output above"
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
