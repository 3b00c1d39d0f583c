"""`bankwh db ...`: start, stop and inspect the warehouse server, set up its roles, and print how to reach it."""

from __future__ import annotations

import argparse
import shlex

import warehouse
from warehouse import embedded, roles

ROLE_CHOICES = {role.removeprefix("bankwh_"): role for role in roles.ROLES}


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser(
        "db",
        help="start, stop and inspect the warehouse PostgreSQL",
        description=(
            "Manage the warehouse server. Without PGHOST this is the embedded PostgreSQL under .warehouse/ "
            "(started on demand and reused); with PGHOST set, start/stop do nothing and status/url/env describe "
            "that server."
        ),
    )
    actions = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, text in [
        ("start", _start, "start the embedded server (reuses a running one; clears a stale lock)"),
        ("stop", _stop, "stop the embedded server"),
        ("status", _status, "say whether the server runs and where; exit 1 when it does not"),
        ("url", _url, "print the connection URL of the warehouse database"),
        ("env", _env, 'print `export PG...=...` lines: eval "$(bankwh db env)" then dbt build / psql work'),
        ("roles", _roles, "create or update the roles loader, transformer, exporter, analyst and their grants"),
    ]:
        sub = actions.add_parser(name, help=text, description=text)
        sub.set_defaults(func=func)
        if name in ("url", "env"):
            sub.add_argument(
                "--role",
                choices=sorted(ROLE_CHOICES),
                help="as this least-privilege role instead of the admin (e.g. analyst: reads the published marts)",
            )


def _start(args: argparse.Namespace) -> int:
    wh = warehouse.resolve(start=True)
    where = "embedded server under " + str(embedded.warehouse_dir()) if wh.embedded else "external server"
    print(f"warehouse ready: {wh.url} ({where})")
    return 0


def _stop(args: argparse.Namespace) -> int:
    if warehouse.uses_external_server():
        print("PGHOST is set: the warehouse is an external server, nothing to stop")
        return 0
    state = embedded.stop()
    print(f"embedded server {state.state}")
    return 0


def _status(args: argparse.Namespace) -> int:
    if warehouse.uses_external_server():
        wh = warehouse.from_env()
        try:
            with wh.with_database("postgres").cursor() as cur:
                cur.execute("show server_version")
                version = cur.fetchone()[0]
        except Exception as exc:  # any driver error means "not reachable"; say why
            print(f"external server {wh.host}:{wh.port} not reachable: {str(exc).strip()}")
            return 1
        print(f"external server {wh.host}:{wh.port} running (PostgreSQL {version}), database {wh.database}")
        return 0
    state = embedded.status()
    line = f"embedded server {state.state}: data {state.pgdata}, port {state.port}"
    if state.pid:
        line += f", pid {state.pid}"
    if state.detail:
        line += f" ({state.detail})"
    print(line)
    if state.state == "stale-lock":
        print("run `bankwh db start` to clear the stale lock and start the server again")
    return 0 if state.state == "running" else 1


def _as(args: argparse.Namespace) -> warehouse.Warehouse:
    """The admin's connection, or the role `--role` names (refused when that role cannot be used here)."""
    role = getattr(args, "role", None)
    wh = warehouse.resolve(start=role is not None, log=lambda *_: None) if role else warehouse.resolve(start=False)
    if role is None:
        return wh
    as_role = wh.for_role(ROLE_CHOICES[role])
    if as_role is wh:
        variable = roles.password_variable(ROLE_CHOICES[role])
        raise RuntimeError(f"role {ROLE_CHOICES[role]} is not usable here: set {variable} (external server)")
    return as_role


def _url(args: argparse.Namespace) -> int:
    print(_as(args).url)
    return 0


def _env(args: argparse.Namespace) -> int:
    """The libpq variables; without --role also what plain `dbt build` needs to run as bankwh's own commands do:
    the transformer's login (profiles.yml) and the pseudonym key as a session setting (PGOPTIONS, never a dbt var,
    so dbt writes it into no artifact)."""
    wh = _as(args)
    variables = dict(wh.env())
    if getattr(args, "role", None) is None:
        import os

        from orchestration import privacy

        variables.update(roles.dbt_env(wh))
        variables["PGOPTIONS"] = privacy.pgoptions(privacy.resolve_key(), os.environ.get("PGOPTIONS", ""))
    for key, value in variables.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _roles(args: argparse.Namespace) -> int:
    wh = warehouse.resolve(start=True, log=lambda *_: None)
    done = roles.apply(wh)
    for line in done["roles"]:
        print(f"role {line}")
    trigger = "" if done["event_trigger"] else "; no event trigger (not a superuser): raw tables keep their creator"
    print(f"grants applied in database {wh.database} on {wh.host}:{wh.port}{trigger}")
    if wh.embedded:
        print(f"passwords: {roles.passwords_path()} (mode 0600), or BANKWH_<ROLE>_PASSWORD")
    return 0
