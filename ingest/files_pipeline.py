"""Loading the landing files into `raw_core_banking`: plan against the ledger, load with dlt, count, record.

One run: find the files of every contract folder; skip those in the ledger with the same sha256; report those in
the ledger with another sha256 (a changed re-delivery is an error, never merged); drop dlt packages left by a
killed run and delete raw rows of files the ledger does not know (see `ledger.py`); extract the new files as
Arrow chunks, normalise to CSV and load with PostgreSQL COPY (files rotate every `FILE_MAX_ITEMS` rows so several
COPY jobs run at once); then count what the warehouse holds per file and write the ledger rows. A file-level
problem (missing mandatory column, bad header, changed re-delivery) fails that file only; a count mismatch fails
the run naming the file.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from warehouse.project import project_path

from . import ledger
from .contract import ENTITIES, RAW_SCHEMA
from .csv_lines import check_encoding_name
from .destination import pipeline_name, postgres_destination
from .files_source import FileStats, PlannedFile, landing_resources
from .raw_tables import ensure_raw_tables
from .summary import FileResult, IngestSummary

DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.csv$")
#: Rows per load file: every `FILE_MAX_ITEMS` rows dlt starts a new file, loaded by its own COPY job.
FILE_MAX_ITEMS = 200_000
LOAD_WORKERS = 4


def default_pipelines_dir() -> Path:
    """dlt's working folder (load packages, local state); ignored by git."""
    return project_path(".dlt", "pipelines")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(data_dir: Path) -> tuple[list[tuple[str, Path, str]], list[str]]:
    """(name, path, entity) of every day file of the contract's folders, and notes on what was ignored."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"landing folder {data_dir} does not exist (run `bankwh generate` first?)")
    found: list[tuple[str, Path, str]] = []
    notes: list[str] = []
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        if folder.name not in ENTITIES:
            if any(folder.glob("*.csv")):
                notes.append(f"ignored folder {folder.name}/: not an entity of the source contract")
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            if DAY_FILE.match(path.name):
                found.append((f"{folder.name}/{path.name}", path, folder.name))
            else:
                notes.append(f"ignored {folder.name}/{path.name}: landing files are named YYYY-MM-DD.csv")
    return found, notes


def encoding_for(name: str, entity: str, overrides: Mapping[str, str]) -> str | None:
    """The override for a file: by file name, else by entity folder, else `*`; None means detect."""
    for key in (name, entity, "*"):
        if key in overrides:
            return check_encoding_name(overrides[key])
    return None


@contextmanager
def dlt_settings() -> Iterator[None]:
    """dlt configuration of this loader, set for the duration of a run only (dlt reads it from the environment)."""
    values = {
        # resources are read in the listed order, so the quarantine resource comes after every file was read
        "EXTRACT__NEXT_ITEM_MODE": "fifo",
        # the Arrow tables carry `_dlt_load_id` already: normalize must not rewrite every row to add it
        "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "false",
        "DATA_WRITER__FILE_MAX_ITEMS": str(FILE_MAX_ITEMS),
        # load files live seconds on local disk before COPY reads them: gzip would cost more than it saves
        "DATA_WRITER__DISABLE_COMPRESSION": "true",
        "LOAD__WORKERS": str(LOAD_WORKERS),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": os.environ.get("RUNTIME__LOG_LEVEL", "WARNING"),
    }
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _pipeline(wh, pipelines_dir: Path, progress: bool):
    import dlt

    return dlt.pipeline(
        pipeline_name=pipeline_name("bankwh_files", wh),
        pipelines_dir=str(pipelines_dir),
        destination=postgres_destination(wh),
        dataset_name=RAW_SCHEMA,
        progress=dlt.progress.log(log_period=5.0, dump_system_stats=False) if progress else None,
    )


def _load(pipeline, resources, log: Callable[[str], None]) -> str:
    """Extract, normalise and load one package; the id of the package that was loaded."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    try:
        extracted = pipeline.extract(resources, loader_file_format="csv")
        log("normalizing")
        pipeline.normalize()
        log("loading into PostgreSQL (COPY)")
        info = pipeline.load()
        info.raise_on_failed_jobs()
    except PipelineStepFailed as exc:
        cause = exc.__cause__ or exc
        raise RuntimeError(
            f"dlt {exc.step} step failed: {cause}; no file was recorded as loaded, the next run loads them again"
        ) from exc
    # the id of the package extract created; when no file held a record dlt skips loading it (no rows, no id)
    return extracted.loads_ids[-1]


def _verify(cur, stats: list[FileStats]) -> list[str]:
    """Compare what the warehouse holds with what was read; one message per file that does not add up."""
    problems = []
    by_entity: dict[str, list[FileStats]] = {}
    for s in stats:
        by_entity.setdefault(s.entity, []).append(s)
    in_quarantine = ledger.count_rows(cur, ledger.QUARANTINE_TABLE, "file_name", "line_number", [s.name for s in stats])
    for entity, entity_stats in by_entity.items():
        in_raw = ledger.count_rows(cur, entity, "_file_name", "_line_number", [s.name for s in entity_stats])
        for s in entity_stats:
            rows, distinct_rows = in_raw.get(s.name, (0, 0))
            quarantined, distinct_q = in_quarantine.get(s.name, (0, 0))
            if rows != distinct_rows or quarantined != distinct_q:
                problems.append(
                    f"{s.name}: a line number appears twice in {RAW_SCHEMA} ({rows} rows, {distinct_rows} lines)"
                )
            elif rows + quarantined != s.lines_in or rows != s.rows or quarantined != s.quarantined:
                problems.append(
                    f"{s.name}: {s.lines_in} lines read ({s.rows} records, {s.quarantined} quarantined) but "
                    f"{RAW_SCHEMA}.{entity} holds {rows} rows and _quarantine {quarantined} lines"
                )
    return problems


def _plan(cur, found, overrides, summary: IngestSummary) -> list[PlannedFile]:
    known = ledger.loaded_files(cur)
    planned = []
    for name, path, entity in found:
        sha = sha256_of(path)
        if name in known and known[name] == sha:
            summary.files.append(FileResult(name, entity, "unchanged"))
        elif name in known:
            summary.files.append(
                FileResult(
                    name,
                    entity,
                    "failed",
                    message=(
                        f"{name}: changed re-delivery: loaded before with sha256 {known[name]}, now {sha}; "
                        "a delivered file must not change (deliver corrections in a new day file), not loaded"
                    ),
                )
            )
        else:
            planned.append(PlannedFile(name, path, entity, sha, encoding_for(name, entity, overrides)))
    return planned


def run_files_ingest(
    wh,
    data_dir: Path | str,
    pipelines_dir: Path | str | None = None,
    progress: bool = True,
    encoding_overrides: Mapping[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> IngestSummary:
    """Load every new landing file under `data_dir` into `raw_core_banking` exactly once.

    Returns the summary; per-file failures are in `summary.errors` (the other files are loaded), a line-count
    mismatch raises RuntimeError naming the file. Afterwards every raw table of the contract exists, the ones no
    file delivered yet empty (see `raw_tables.py`). `encoding_overrides` maps a file name
    (`transactions/2025-01-03.csv`), an entity folder or `*` to a codec name instead of detection.
    """
    started = time.perf_counter()
    say = log if progress else (lambda _msg: None)
    summary = IngestSummary(source="files")
    found, summary.notes = discover(Path(data_dir))
    pipelines_dir = Path(pipelines_dir) if pipelines_dir else default_pipelines_dir()

    lock_conn = wh.connect()
    lock_conn.autocommit = True
    locked = False
    try:
        ledger.acquire_run_lock(lock_conn)
        locked = True
        with lock_conn.cursor() as cur:
            ledger.ensure_ledger(cur)
            planned = _plan(cur, found, encoding_overrides or {}, summary)
        with dlt_settings():
            pipeline = _pipeline(wh, pipelines_dir, progress)
            if pipeline.has_pending_data:
                # abort (not resume) the interrupted package: the ledger decides what reloads, and the local
                # schema goes back to where the package started; load() completes the abort
                pipeline.abort_packages()
                pipeline.load()
                summary.notes.append("dropped the unfinished load package of an interrupted run; its files reload")
            with wh.cursor(autocommit=False) as cur:
                deleted = ledger.delete_unrecorded_rows(cur)
            if deleted:
                summary.notes.append(
                    "removed rows of an interrupted load: " + ", ".join(f"{t} {n}" for t, n in deleted.items())
                )
            say(
                f"ingest files: {len(found)} files in {data_dir}, {len(planned)} to load, "
                f"{len(summary.with_status('unchanged'))} already loaded"
            )
            if planned:
                _load_planned(wh, pipeline, planned, summary, say)
        # a table of the contract no file delivered yet (no fraud labels, no broken line) still exists, empty
        ensure_raw_tables(wh, log=say)
    finally:
        if locked:
            ledger.release_run_lock(lock_conn)
        lock_conn.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _load_planned(wh, pipeline, planned: list[PlannedFile], summary: IngestSummary, say) -> None:
    loaded_at = datetime.now(UTC)
    stats = {p.name: FileStats(p.name, p.entity, p.sha256) for p in planned}
    count = iter(range(1, len(planned) + 1))

    def file_done(s: FileStats) -> None:
        state = f"FAILED: {s.error}" if s.error else f"{s.rows} rows, {s.quarantined} quarantined, {s.encoding}"
        say(f"  [{next(count)}/{len(planned)}] {s.name}: {state} ({s.seconds:.2f} s)")

    resources = landing_resources(planned, stats, loaded_at, on_file_done=file_done)
    load_id = _load(pipeline, resources, say)
    good = [s for s in stats.values() if s.error is None]
    with wh.cursor(autocommit=False) as cur:
        problems = _verify(cur, good)
        bad = {p.split(":", 1)[0] for p in problems}
        if not problems:
            for table in {s.entity for s in good if s.rows}:
                ledger.ensure_line_index(cur, table, "_file_name", "_line_number")
            if any(s.quarantined for s in good):
                ledger.ensure_line_index(cur, ledger.QUARANTINE_TABLE, "file_name", "line_number")
        ledger.record(
            cur,
            [
                ledger.LedgerEntry(
                    s.name,
                    s.entity,
                    s.sha256,
                    s.encoding,
                    s.lines_in,
                    s.rows,
                    s.quarantined,
                    s.new_columns,
                    s.missing_columns,
                    load_id,
                    loaded_at,
                )
                for s in good
                if s.name not in bad
            ],
        )
    summary.load_id = load_id
    for s in stats.values():
        status = "failed" if s.error or s.name in bad else "loaded"
        message = s.error or next((p for p in problems if p.startswith(s.name + ":")), "")
        summary.files.append(
            FileResult(
                s.name,
                s.entity,
                status,
                s.lines_in,
                s.rows,
                s.quarantined,
                s.encoding,
                s.new_columns,
                s.missing_columns,
                s.seconds,
                message,
            )
        )
    summary.files.sort(key=lambda f: f.file_name)
    if problems:
        raise RuntimeError("line accounting failed, not recorded: " + "; ".join(problems))
