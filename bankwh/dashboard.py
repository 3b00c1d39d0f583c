"""`bankwh dashboard`: the business dashboard (dashboard/app.py, Streamlit) over the published marts.

The command resolves the warehouse like every other one (the libpq variables, else the embedded server), switches
to the analyst role when one is configured, checks that the published marts can be read, and then becomes the
Streamlit server (exec), so a container's signals and exit status are Streamlit's own.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import warehouse
from publishing.publish import PUBLISHED_SCHEMA

#: The analyst role of the warehouse (read-only on the published marts) and the variables that configure it.
ANALYST_ROLE = "bankwh_analyst"
ANALYST_USER_ENV = "BANKWH_ANALYST_USER"
ANALYST_PASSWORD_ENV = "BANKWH_ANALYST_PASSWORD"
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
            f"PG* variables (else the embedded server); with ${ANALYST_PASSWORD_ENV} set it connects as "
            f"{ANALYST_ROLE} (or as ${ANALYST_USER_ENV})."
        ),
    )
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.set_defaults(func=_dashboard)


def analyst(wh: warehouse.Warehouse, environ: dict[str, str] | None = None) -> warehouse.Warehouse:
    """The connection the dashboard uses: the analyst role when configured, else `wh` as it is."""
    environ = os.environ if environ is None else environ
    user = environ.get(ANALYST_USER_ENV, "").strip()
    password = environ.get(ANALYST_PASSWORD_ENV, "")
    if not user and not password:
        return wh
    return replace(wh, user=user or ANALYST_ROLE, password=password)


def check_readable(wh: warehouse.Warehouse) -> None:
    """Fail with one line when the published marts cannot be read (no night published, no rights, no server)."""
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
    if not exists:
        raise RuntimeError(
            f"no published marts in {wh.host}:{wh.port}/{wh.database} (schema {PUBLISHED_SCHEMA}): "
            "run a night first (bankwh run)"
        )


def streamlit_command(port: int, host: str) -> list[str]:
    """The Streamlit server for dashboard/app.py: headless, no usage statistics sent anywhere."""
    import dashboard

    app = Path(dashboard.__file__).with_name("app.py")
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", host, "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
    ]  # fmt: skip


def _dashboard(args: argparse.Namespace) -> int:
    owner = warehouse.from_env() if warehouse.uses_external_server() else warehouse.resolve()
    wh = analyst(owner)
    check_readable(wh)
    os.environ.update({**wh.env(), "PGHOST": wh.host})  # the page's connection: these settings exactly
    command = streamlit_command(args.port, args.host)
    print(f"dashboard of {wh.host}:{wh.port}/{wh.database} (schema {PUBLISHED_SCHEMA}, as {wh.user}) at "
          f"http://{args.host}:{args.port}", flush=True)  # fmt: skip
    os.execv(command[0], command)
    return 1  # not reached: exec replaces this process
