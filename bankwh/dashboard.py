"""`bankwh dashboard`: the business dashboard (dashboard/app.py, Streamlit) over the published marts.

The command resolves the warehouse like every other one (the libpq variables, else the embedded server), switches
to the analyst role when one is configured, checks that the published marts can be read, and then becomes the
Streamlit server (exec), so a container's signals and exit status are Streamlit's own.
"""

from __future__ import annotations

import argparse
import os
import sys

import warehouse
from publishing.publish import PUBLISHED_SCHEMA
from warehouse import roles

#: A mart the page cannot do without: its absence means no night was published (or the role may not read it).
PROBE = "agg_revenue_monthly_by_product_segment"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the business dashboard over the published marts (Streamlit)",
        description=(
            "Serve the dashboard of the published marts: monthly revenue by product and segment, transaction "
            "volumes by channel, fraud rate, non-performing loan ratio and NPS, filtered by month, client segment "
            "and source bank. It reads schema marts only, so it shows the last published night. Connection: the "
            "PG* variables (else the embedded server), as the read-only role bankwh_analyst where the warehouse "
            "has it (its password from BANKWH_ANALYST_PASSWORD, or the embedded server's own)."
        ),
    )
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.set_defaults(func=_dashboard)


def reader(owner: warehouse.Warehouse) -> warehouse.Warehouse:
    """The connection the page uses: the analyst role (read `marts`, nothing else) where the warehouse has it set
    up (warehouse/roles.py), else the given user, such as PG* naming a read-only user already."""
    return owner.for_role(roles.ANALYST)


def check_readable(wh: warehouse.Warehouse) -> bool:
    """Whether a night is published; one-line failures when the server cannot be reached or the user may not read
    the published marts."""
    import psycopg2

    try:
        with wh.cursor() as cur:
            cur.execute("select to_regclass(%s) is not null", (f"{PUBLISHED_SCHEMA}.{PROBE}",))
            (exists,) = cur.fetchone()
            if exists:
                cur.execute(f"select 1 from {PUBLISHED_SCHEMA}.{PROBE} limit 1")
    except psycopg2.OperationalError as exc:
        raise ConnectionError(f"cannot connect to {wh.host}:{wh.port}/{wh.database} as {wh.user}: "
                              f"{str(exc).strip()}") from exc  # fmt: skip
    except psycopg2.errors.InsufficientPrivilege as exc:
        raise RuntimeError(f"{wh.user} may not read schema {PUBLISHED_SCHEMA} on {wh.database}: {exc.pgerror}") from exc
    return bool(exists)


def streamlit_command(port: int, host: str) -> list[str]:
    """The Streamlit server for dashboard/app.py: headless, no usage statistics sent anywhere."""
    from importlib.resources import files

    app = files("dashboard") / "app.py"  # a file of the installed package, editable or not
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", host, "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false", "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def _dashboard(args: argparse.Namespace) -> int:
    owner = warehouse.from_env() if warehouse.uses_external_server() else warehouse.resolve()
    wh = reader(owner)
    if not check_readable(wh):
        print(f"note: no night published in {wh.database} yet (schema {PUBLISHED_SCHEMA}); the page says so until "
              "one is (bankwh run)", flush=True)  # fmt: skip
    os.environ.update(wh.env())  # the page's connection (warehouse.from_env): these settings exactly
    command = streamlit_command(args.port, args.host)
    print(f"dashboard of {wh.host}:{wh.port}/{wh.database} (schema {PUBLISHED_SCHEMA}, as {wh.user}) at "
          f"http://{args.host}:{args.port}", flush=True)  # fmt: skip
    os.execv(command[0], command)
    return 1  # not reached: exec replaces this process
