"""The nightly dbt build in this process: dbt's runner with a progress callback, one Prefect event per node, and in
the UI a Markdown summary by layer, a table artifact of every node and one task per failing node.

Why a callback and not one Prefect task per node: the per-node tasks of prefect-dbt ran in daemon threads that
were still reporting their states when the process exited, which aborted the interpreter ("FATAL: exception not
rethrown", exit 134) after a good night, and their state round-trips made the build 2.4 times as slow as plain
`dbt build`; 610 task bars were also no way to find the one that failed. The build's subflow now holds a task only
for what failed, named after the node (its message and owners in the task's state), beside the summary artifact.
Every node still has its log line (the run log in the UI and the command's log file, not its console) and its
event. (Not named dbt_*: a worker puts this folder on sys.path, where dbt imports such modules.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import task
from prefect.states import Failed, State

from orchestration import privacy
from publishing import gate

#: The `extra` of a per-node log line: kept in the UI and the log file, left off the console (bankwh/run.py).
DETAIL = {"bankwh_detail": True}


#: dbt prints nothing on the console (the callbacks report); its log file (logs/dbt.log) keeps every event.
QUIET = ("--log-level", "none", "--log-level-file", "debug")
#: Failures and warnings of one build shown on the console one line each; the run's summary counts them all.
FLAGGED_LINES = 20


class DbtProgress:
    """dbt callback: one log line per failure or warning, "N of M nodes" at every tenth of the build, and one
    `detail` line per node (for the log file and the UI, kept off the console)."""

    def __init__(
        self,
        log: Callable[[str], None],
        emit: Callable[[dict[str, Any]], None] | None = None,
        detail: Callable[[str], None] | None = None,
    ):
        self.log = log
        self.emit = emit
        self.detail = detail
        self.total = 0
        self.done = 0
        self.failed = 0
        self.flagged = 0  # failures and warnings, each a console line up to FLAGGED_LINES
        self.reported_tenths = 0
        self.nodes: list[dict[str, Any]] = []
        self.invocation_id: str | None = None
        self._lock = threading.Lock()  # dbt calls back from each of its threads

    def __call__(self, event: Any) -> None:
        with self._lock:
            try:
                self._handle(event)
            except Exception as exc:  # progress reporting must never break the build
                self.log(f"dbt progress: could not read event {event.info.name}: {exc}")

    def _handle(self, event: Any) -> None:
        name = event.info.name
        if self.invocation_id is None and getattr(event.info, "invocation_id", None):
            self.invocation_id = event.info.invocation_id
        total = getattr(event.data, "total", 0)
        if total and total > self.total:
            self.total = total
        if name != "NodeFinished":
            return
        info, result = event.data.node_info, event.data.run_result
        status = (result.status or info.node_status or "").lower()
        node = {
            "node": info.unique_id,
            "type": info.resource_type,
            "status": status,
            "seconds": round(float(result.execution_time or 0.0), 2),
            "failures": int(result.num_failures or 0),
            "message": (result.message or "").splitlines()[0][:300] if result.message else "",
        }
        self.nodes.append(node)
        self.done += 1
        if self.detail is not None:
            self.detail(f"dbt {self.done}/{max(self.total, self.done)} {status} {info.unique_id} ({node['seconds']} s)")
        if status in gate.BLOCKING_TEST_STATUSES | {"warn"}:
            self.failed += status != "warn"
            self.flagged += 1
            line = f"dbt {status.upper():<5} {info.unique_id}: {node['message']}"
            if self.flagged <= FLAGGED_LINES:
                self.log(line)
            else:  # a lost database fails every node left: the rest go to the log file and the UI only
                if self.flagged == FLAGGED_LINES + 1:
                    self.log(f"dbt: more than {FLAGGED_LINES} failures and warnings; the rest are in the log file")
                if self.detail is not None:
                    self.detail(line)
        if self.emit is not None:
            self.emit(node)
        tenths = self.done * 10 // max(self.total, self.done)
        if tenths > self.reported_tenths:
            self.reported_tenths = tenths
            self.log(f"dbt: {self.done} of {max(self.total, self.done)} nodes done, {self.failed} failed")


def emit_node_event(node: dict[str, Any]) -> None:
    """A Prefect event per dbt node (the UI's event feed), named like dbt.model.success or dbt.test.fail."""
    from prefect.events import emit_event

    emit_event(
        event=f"dbt.{node['type']}.{node['status']}",
        resource={"prefect.resource.id": f"dbt.{node['node']}", "prefect.resource.name": node["node"]},
        payload={k: node[k] for k in ("seconds", "failures", "message")},
    )


def node_artifact(progress: DbtProgress) -> None:
    """Every node of the build as a table artifact of the dbt-build run, failures first."""
    from prefect.artifacts import create_table_artifact

    order = {"error": 0, "fail": 1, "runtime error": 1, "warn": 2}
    rows = sorted(progress.nodes, key=lambda n: (order.get(n["status"], 3), n["node"]))
    create_table_artifact(
        key="dbt-build-nodes",
        table=rows,
        description=f"dbt build: {progress.done} nodes, {progress.failed} failed (invocation {progress.invocation_id})",
    )


def build_args(
    full_refresh: bool, select: str | None, project_dir: Path, profiles_dir: Path, target_dir: Path | None
) -> list[str]:
    """The `dbt build` command line of the night. dbt's console output is off, errors included (a lost database
    is an error per node left): the callback reports, and dbt's own log file keeps everything."""
    args = ["build", "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir), *QUIET]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select.split()]
    if target_dir is not None:
        args += ["--target-path", str(target_dir)]
    return args


def run_build(
    args: list[str],
    log: Callable[[str], None],
    limit: float | None,
    detail: Callable[[str], None] | None = None,
    target_dir: Path | None = None,
) -> gate.BuildResult:
    """Run `dbt build` with progress, events and the build's artifacts; the gate's view of its results.

    `limit` is the enclosing flow's time limit: Prefect stops a flow at its limit by raising inside it, which dbt
    reports as its own failure, so past the limit the error becomes a TimeoutError naming the limit. `detail` gets
    one line per node; `target_dir` is where dbt writes manifest.json and run_results.json (the failures' owners).
    """
    from dbt.cli.main import dbtRunner

    progress = DbtProgress(log, emit_node_event, detail)
    started = time.monotonic()

    def over_time(error: object) -> TimeoutError | None:
        if limit and time.monotonic() - started >= limit:
            return TimeoutError(f"dbt build stopped at its time limit of {limit:g} s ({error!r})")
        return None

    try:
        with privacy.key_for_dbt():  # the pseudonym key as a session setting, never in dbt's files
            res = dbtRunner(callbacks=[progress]).invoke(args)
    except BaseException as exc:
        timed_out = over_time(exc)
        if timed_out is None:
            raise
        raise timed_out from exc
    if res.exception is not None:  # dbt could not start (project, profile), or was stopped
        cause = " ".join(str(res.exception).split())  # dbt's message spans lines; the cause is on the later ones
        raise over_time(res.exception) or RuntimeError(f"dbt build could not run: {cause}")
    if limit and time.monotonic() - started >= limit:
        # Prefect's interruption can land in code that swallows it (a finalizer), not in dbt: the limit still holds
        raise TimeoutError(f"dbt build ran past its time limit of {limit:g} s")
    results = gate.from_dbt_result(res)
    seconds = time.monotonic() - started
    log(f"dbt build finished in {seconds:.1f} s: {progress.done} nodes, {progress.failed} failed")
    publish_build(progress, target_dir, seconds)
    return gate.BuildResult(results, invocation_id=gate.invocation_id(res) or progress.invocation_id)


#: Failing nodes that get a task of their own in the build's subflow; the rest are counted in one more task.
MOST_FAILURE_TASKS = 25


def publish_build(progress: DbtProgress, target_dir: Path | None, seconds: float) -> None:
    """The build in the UI: the Markdown summary (layers, failures with owners), the table of every node, and one
    failed task per failing node (a lost database fails hundreds: the first MOST_FAILURE_TASKS, then one task
    counting the others)."""
    from orchestration import artifacts

    failures, _ = artifacts.failures_with_owners(target_dir)
    artifacts.publish_dbt(progress.nodes, target_dir, seconds, failures)
    node_artifact(progress)
    for finding in failures[:MOST_FAILURE_TASKS]:
        owners = ", ".join(owner.label() for owner in finding.owners) or "unowned"
        failed_node(finding.status, finding.name, finding.unique_id, finding.message, owners, return_state=True)
    if len(failures) > MOST_FAILURE_TASKS:
        rest = len(failures) - MOST_FAILURE_TASKS
        failed_node("failed", f"{rest} more nodes", "", f"see the artifact {artifacts.DBT_KEY}", "", return_state=True)


@task(name="dbt-failed", task_run_name="{status} {name}", timeout_seconds=60)
def failed_node(status: str, name: str, unique_id: str, message: str, owners: str) -> State:
    """A node that failed, as a Failed task in the build's subflow: its name in the timeline, the cause and the
    owners in its state message. It ran inside dbt already; this task only shows it."""
    return Failed(message=f"{unique_id}: {message}" + (f" (owners: {owners})" if owners else ""))


def freshness_args(
    project_dir: Path, profiles_dir: Path, target_dir: Path | None, select: list[str] | None = None
) -> list[str]:
    """The `dbt source freshness` command line: the build's project, profiles and target folder, so it checks the
    same warehouse and its `sources.json` lands beside the build's artifacts. `select` limits it to some sources
    (e.g. `source:core_banking`); without it dbt checks every source that declares a freshness."""
    args = ["source", "freshness", "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir), *QUIET]
    if target_dir is not None:
        args += ["--target-path", str(target_dir)]
    if select:
        args += ["--select", *select]
    return args


def run_freshness(args: list[str], sources_json: Path, log: Callable[[str], None]) -> dict[str, Any] | None:
    """Run `dbt source freshness` in this process; its `sources.json` (parsed), or None when dbt wrote none.

    A stale source is not an error here: dbt reports it as a failed invocation, but staleness is logged and alerted,
    never a reason to stop the night (the publish gate is the build's tests). Only a dbt that could not start raises.
    The previous night's `sources.json` is removed first, so it can never pass for tonight's. dbt leaves the source
    tables it could not measure (a missing table or column: `runtime error`) out of that file; they are added to its
    results here, with dbt's error, so they are recorded and alerted too.
    """
    import json

    from dbt.cli.main import dbtRunner

    sources_json.unlink(missing_ok=True)
    started = time.monotonic()
    with privacy.key_for_dbt():  # the project's on-run-start hooks run here too
        res = dbtRunner().invoke(args)
    if res.exception is not None:
        cause = " ".join(str(res.exception).split())
        raise RuntimeError(f"dbt source freshness could not run: {cause}")
    results = list(getattr(res.result, "results", None) or [])
    log(f"dbt source freshness finished in {time.monotonic() - started:.1f} s: {len(results)} source table(s) checked")
    if not sources_json.is_file():
        return None
    artifact = json.loads(sources_json.read_text())
    listed = {r["unique_id"] for r in artifact.get("results", [])}
    artifact.setdefault("results", []).extend(
        {"unique_id": r.node.unique_id, "status": str(r.status), "error": r.message}
        for r in results
        if str(r.status) == "runtime error" and r.node.unique_id not in listed
    )
    return artifact
