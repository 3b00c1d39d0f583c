"""`bankwh serve`: the nightly flow on the schedule of its deployment in prefect.yaml, with a local Prefect server
when none is configured (schedules need a server's scheduler)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from warehouse.project import project_path


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="serve the nightly flow on its schedule (no Prefect server needed)",
        description=(
            "Serve the nightly flow on this machine with the schedule of the `nightly` deployment in prefect.yaml "
            "(cron 0 2 * * *, Europe/Paris unless overridden). Runs until interrupted; at most one run at a time. "
            "Without PREFECT_API_URL it uses the project's Prefect server (state under .warehouse/prefect, the "
            "same as `bankwh run`; UI on --port), starting it when it is not running, because schedules need a "
            "server's scheduler."
        ),
    )
    serve.add_argument("--cron", help="override the cron expression of prefect.yaml")
    serve.add_argument("--timezone", help="override the schedule's time zone (IANA name, e.g. Europe/Paris)")
    serve.add_argument("--config", type=Path, default=None, help="prefect.yaml to read (default: the project's)")
    serve.add_argument("--name", default="nightly", help="the deployment of prefect.yaml to serve (default nightly)")
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help="port of the project's Prefect server when PREFECT_API_URL is not set and it is not running yet "
        "(default 4200)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="nights of the demo bank (data/raw, from `bankwh run --demo`): each run serves its bank API itself",
    )
    serve.set_defaults(func=_serve)


def load_deployment(path: Path | None = None, name: str = "nightly") -> dict[str, Any]:
    """The deployment `name` of prefect.yaml (default: the project's), as a dict."""
    import yaml

    path = path or project_path("prefect.yaml")

    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for deployment in config.get("deployments") or []:
        if deployment.get("name") == name:
            return deployment
    raise ValueError(f"{path} has no deployment named {name!r}")


def schedule_of(deployment: dict[str, Any], cron: str | None = None, timezone: str | None = None):
    """The Prefect Cron schedule of a deployment (first cron schedule), with optional overrides."""
    from prefect.schedules import Cron

    crons = [s for s in deployment.get("schedules") or [] if s.get("cron")]
    if not crons and not cron:
        raise ValueError(f"deployment {deployment.get('name')} has no cron schedule")
    base = crons[0] if crons else {}
    return Cron(cron or base["cron"], timezone=timezone or base.get("timezone") or "UTC")


def _prefect_command() -> str:
    """The `prefect` executable beside this Python (a new shell may not have the virtualenv on its PATH)."""
    beside = Path(sys.executable).parent / "prefect"
    return str(beside) if beside.exists() else "prefect"


def run_now_command(url: str, deployment: str) -> str:
    """The shell command that runs a night now, from any shell: the API named, since a new shell has no
    PREFECT_API_URL (without it, Prefect would ask a temporary server of its own that knows no deployment)."""
    return f"PREFECT_API_URL={url} {_prefect_command()} deployment run 'nightly/{deployment}'"


def _serve(args: argparse.Namespace) -> int:
    from orchestration import prefect_local

    prefect_local.quiet_defaults()
    deployment = load_deployment(args.config, args.name)
    schedule = schedule_of(deployment, args.cron, args.timezone)
    parameters = dict(deployment.get("parameters") or {})
    if args.demo:
        landing = project_path("data", "raw")
        if not (landing / "manifest.json").is_file():
            raise FileNotFoundError(f"no demo bank in {landing}: run `bankwh run --demo` (or `bankwh generate`) first")
        parameters["demo"] = True
    port = args.port or prefect_local.DEFAULT_PORT
    with prefect_local.project_api(log=print, port=port, require_port=args.port is not None) as url:
        from orchestration.flows import nightly

        print(f"serving nightly on cron {schedule.cron!r} ({schedule.timezone})"
              + (", the demo bank's API served by each run" if args.demo else "") + "; Ctrl-C stops")  # fmt: skip
        print(f"run a night now, from any shell:\n  {run_now_command(url, deployment['name'])}", flush=True)
        nightly.serve(
            name=deployment["name"],
            schedules=[schedule],
            parameters=parameters,
            tags=deployment.get("tags") or [],
            description=deployment.get("description"),
            limit=1,
            print_starting_message=False,
        )
    return 0
