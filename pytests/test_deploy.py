"""The deployment path, as an operator walks it: a Prefect server on loopback, `prefect deploy --name nightly` from
the repository, `prefect worker start` on the process pool, `prefect deployment run 'nightly/nightly'` from a new
shell, and the night Completed with its tasks and artifacts; then `bankwh serve` on the same server, whose printed
command runs a night from a shell that knows nothing of Prefect.

One server for these tests and the UI's (pytests/test_prefect_ui.py): the project's own server code
(orchestration/prefect_local.py) started in a folder of the session, with its UI. The night is the tiny dbt project
of test_flow.py on a database of its own, so it costs seconds of dbt, not a warehouse build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_flow import TINY_PROJECT

from project_root import PROJECT_ROOT

POOL = "bank-warehouse-process"
PREFECT = str(Path(sys.executable).parent / "prefect")
#: A run that has not finished after this long has failed (a worker polls every 2 s here, the night takes seconds).
RUN_TIMEOUT_S = 600


@dataclass
class Night:
    """What the deployed night left on the server, for the tests that look at it."""

    url: str  # the API, http://127.0.0.1:<port>/api
    deployment: dict
    flow_run_id: str
    database: str
    pg_env: dict[str, str]
    work: Path


_SHARED: dict[str, Night] = {}


def api(url: str, path: str, body: dict | None = None) -> dict | list:
    """One call of Prefect's REST API (GET, or POST with a JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_for_final_state(url: str, flow_run_id: str, log: Path | None = None) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run = api(url, f"/flow_runs/{flow_run_id}")
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise AssertionError(f"flow run {flow_run_id} still {run['state']['type']} after {RUN_TIMEOUT_S} s\n{tail}")
        time.sleep(1)


def shell_env(home: Path, **extra: str) -> dict[str, str]:
    """A new shell's environment: a PATH and a HOME, nothing of Prefect's or the project's unless given."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", **extra}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flow_run_id(output: str) -> str:
    match = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert match, output
    return match.group(1)


def _tiny_database(server) -> str:
    name = f"bankwh_deploy_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    with server.with_database(name).cursor() as cur:
        cur.execute(
            "create schema src; create table src.sales (sale_id bigint, shop_id int, sold_on date, amount numeric);"
            "insert into src.sales select g, 1 + g % 3, date '2025-01-01' + g % 60, g from generate_series(1, 100) g"
        )
    return name


@pytest.fixture(scope="session")
def deployed_night(server) -> Iterator[Night]:
    """A Prefect server with UI, the `nightly` deployment of prefect.yaml on it, a process worker, and one night run
    from that deployment until Completed. Built once per session, whichever module asks first."""
    if "night" in _SHARED:
        yield _SHARED["night"]
        return
    from orchestration import prefect_local

    work = Path(tempfile.mkdtemp(prefix="bankwh-deploy-"))  # not under pytest's tmp root: a worker reads it
    database = _tiny_database(server)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        stack.callback(_drop, server, database)
        for rel, text in TINY_PROJECT.items():
            (work / "tiny" / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / "tiny" / rel).write_text(text.lstrip())
        url = stack.enter_context(prefect_local.server(work / "prefect", port=_free_port(), log=lambda _: None))
        wh = server.with_database(database)
        env = shell_env(work, PREFECT_API_URL=url, BANKWH_HOME=str(PROJECT_ROOT), BANKWH_PROJECT_DIR=str(PROJECT_ROOT),
                        PREFECT_HOME=str(work / "client"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                        **wh.env())  # fmt: skip

        def prefect(*args: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run([PREFECT, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                                  timeout=300)  # fmt: skip
            assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            return done

        prefect("work-pool", "create", POOL, "--type", "process", "--overwrite")
        prefect("--no-prompt", "deploy", "--name", "nightly")
        deployment = api(url, "/deployments/name/nightly/nightly")

        log = work / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", POOL, "--limit", "1"],
                                      env={**env, "PREFECT_WORKER_QUERY_SECONDS": "2"}, cwd=work, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        stack.callback(_stop, worker)
        params = {"sources": "[]", "database": database, "dbt_project_dir": str(work / "tiny"),
                  "dbt_target_dir": str(work / "target"), "delta_root": str(work / "delta")}  # fmt: skip
        # from a new shell: nothing but the API's address, as the README says
        argv = [PREFECT, "deployment", "run", "nightly/nightly"]
        argv += [arg for name, value in params.items() for arg in ("--param", f"{name}={value}")]
        run = subprocess.run(argv, env=shell_env(work, PREFECT_API_URL=url), cwd=work, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        flow_run_id = _flow_run_id(run.stdout)
        final = wait_for_final_state(url, flow_run_id, log)
        assert final["state"]["type"] == "COMPLETED", f"{final['state']}\n{log.read_text()[-3000:]}"
        _SHARED["night"] = Night(url, deployment, flow_run_id, database, wh.env(), work)
        yield _SHARED["night"]
        _SHARED.pop("night", None)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _drop(server, database: str) -> None:
    with server.cursor() as cur:
        cur.execute(f'drop database if exists "{database}" with (force)')


def artifacts_of(url: str, flow_run_ids: list[str]) -> dict[str, dict]:
    """The artifacts of some flow runs by key (waits a little: the server records them from the client's calls)."""
    rows = api(url, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": flow_run_ids}}})
    return {row["key"]: row for row in rows if row.get("key")}


def test_prefect_deploy_then_a_worker_runs_the_night(deployed_night):
    night = deployed_night
    url = night.url
    # the deployment is prefect.yaml's: its entrypoint, pool, cron and time zone
    config = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())["deployments"][0]
    assert night.deployment["entrypoint"] == config["entrypoint"] == "orchestration/flows.py:nightly"
    assert night.deployment["work_pool_name"] == POOL
    (schedule,) = night.deployment["schedules"]
    assert (schedule["schedule"]["cron"], schedule["schedule"]["timezone"]) == ("0 2 * * *", "Europe/Paris")

    run = api(url, f"/flow_runs/{night.flow_run_id}")
    assert run["deployment_id"] == night.deployment["id"] and run["work_pool_name"] == POOL
    tasks = api(url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [night.flow_run_id]}}})
    names = {t["name"].rsplit("-", 1)[0] for t in tasks}
    assert {"connect-warehouse", "source-freshness", "export-delta", "publish-night", "write-report"} <= names
    assert all(t["state"]["type"] == "COMPLETED" for t in tasks)

    # the night's artifacts: the summary names rows and Delta versions, the link points at the quality report
    found = artifacts_of(url, [night.flow_run_id])
    summary = found["nightly-summary"]["data"]
    assert summary.startswith("# Nightly run: published")
    assert re.search(r"\| fact_sales \| 100 \| 0 \| created \| ok \|", summary), summary
    assert "## Failed tests and nodes\nNone." in summary
    link = re.fullmatch(r"\[quality report: (.+)\]\(file://(.+)\)", found["quality-report"]["data"])
    assert link and link.group(1) == link.group(2) and Path(link.group(2)).is_file(), found["quality-report"]["data"]

    # the dbt subflow: its summary artifact by layer, and no failed task on a green night
    (child,) = api(url, "/flow_runs/filter", {"flow_runs": {"parent_flow_run_id": {"any_": [night.flow_run_id]}}})
    assert child["name"] and child["state"]["type"] == "COMPLETED"
    dbt = artifacts_of(url, [child["id"]])
    assert dbt["dbt-build-summary"]["data"].startswith("# dbt build: 6 nodes in")
    assert "| marts | 6 |" in dbt["dbt-build-summary"]["data"]
    child_tasks = api(url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [child["id"]]}}})
    assert [t["name"] for t in child_tasks if t["state"]["type"] != "COMPLETED"] == []


def test_the_command_bankwh_serve_prints_runs_a_night_from_a_new_shell(deployed_night, tmp_path):
    """`bankwh serve` on the same server prints the command that runs a night now; a shell with no Prefect
    setting runs it, and the served night completes."""
    night = deployed_night
    config = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    config["deployments"][0]["name"] = "served"  # beside the worker's deployment, not over it
    (tmp_path / "prefect.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PREFECT_"))}
    env.update(night.pg_env, PREFECT_API_URL=night.url, PREFECT_HOME=str(tmp_path / "client"),
               BANKWH_PROJECT_DIR=str(PROJECT_ROOT), PYTHONUNBUFFERED="1")  # fmt: skip
    argv = [sys.executable, "-m", "bankwh.cli", "serve", "--config", str(tmp_path / "prefect.yaml"), "--name", "served"]
    serve = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)  # fmt: skip
    try:
        lines = []
        for line in serve.stdout:
            lines.append(line)
            if line.startswith("  PREFECT_API_URL="):
                break
        assert lines and lines[-1].startswith("  PREFECT_API_URL="), "".join(lines)
        command = lines[-1].strip()
        assert command.endswith("deployment run 'nightly/served'") and night.url in command
        params = (f" --param sources='[]' --param database={night.database} --param dbt_project_dir={night.work}/tiny"
                  f" --param dbt_target_dir={tmp_path}/target --param delta_root={tmp_path}/delta")  # fmt: skip
        shell = subprocess.run(["bash", "-c", command + params], env=shell_env(tmp_path), cwd=tmp_path,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
        assert shell.returncode == 0, shell.stdout + shell.stderr
        final = wait_for_final_state(night.url, _flow_run_id(shell.stdout))
        assert final["state"]["type"] == "COMPLETED", final["state"]
    finally:
        _stop(serve)
