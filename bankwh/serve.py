"""`bankwh serve`: the nightly flow on the schedule of its deployment in prefect.yaml, with a local Prefect server
when none is configured (schedules need a server's scheduler)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
            "Without PREFECT_API_URL a local Prefect server (state under .warehouse/prefect, UI on --port) is "
            "started beside it, because schedules need a server's scheduler."
        ),
    )
    serve.add_argument("--cron", help="override the cron expression of prefect.yaml")
    serve.add_argument("--timezone", help="override the schedule's time zone (IANA name, e.g. Europe/Paris)")
    serve.add_argument("--config", type=Path, default=None, help="prefect.yaml to read (default: the project's)")
    serve.add_argument(
        "--port",
        type=int,
        default=4200,
        help="port of the local Prefect server started when PREFECT_API_URL is not set (default 4200)",
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


@contextmanager
def local_prefect_server(port: int) -> Iterator[str]:
    """A Prefect server on 127.0.0.1:`port` for as long as the block runs (its scheduler creates the runs)."""
    import subprocess
    import time
    import urllib.request

    home = project_path(".warehouse", "prefect")
    home.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/api"
    log_path = home / "server.log"
    env = dict(os.environ, PREFECT_HOME=str(home))
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the local Prefect server did not start on port {port}; see {log_path}"
                    ) from None
                time.sleep(1)
        print(f"local Prefect server at {url} (UI http://127.0.0.1:{port}, log {log_path})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _serve(args: argparse.Namespace) -> int:
    deployment = load_deployment(args.config)
    schedule = schedule_of(deployment, args.cron, args.timezone)
    with ExitStack() as stack:
        if not os.environ.get("PREFECT_API_URL"):
            from prefect.settings import PREFECT_API_URL, temporary_settings

            url = stack.enter_context(local_prefect_server(args.port))
            stack.enter_context(temporary_settings({PREFECT_API_URL: url}))
        from orchestration.flows import nightly

        print(f"serving nightly on cron {schedule.cron!r} ({schedule.timezone}); Ctrl-C stops")
        nightly.serve(
            name=deployment["name"],
            schedules=[schedule],
            parameters=deployment.get("parameters") or {},
            tags=deployment.get("tags") or [],
            description=deployment.get("description"),
            limit=1,
        )
    return 0
