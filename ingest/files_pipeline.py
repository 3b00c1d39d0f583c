"""Loading delivered files into the raw layer, one design for every delimited-file source.

One run of one source (its `Dialect`: `dialect.LANDING`, `berka_source.BERKA`), under one advisory lock for all
file ingests of the database: find the deliveries; skip those in the ledger with the same name and sha256; drop
dlt packages left by a killed run and delete raw rows of loads the ledger does not name (see `ledger.py`); extract
the other files as Arrow chunks, normalise to CSV and load with PostgreSQL COPY (files rotate every
`FILE_MAX_ITEMS` rows so several COPY jobs run at once); then count what the warehouse holds per file and load,
and in one transaction write the ledger rows and retire what they replace.

The rule for a changed re-delivery (a file name delivered again with another content), the same for every
source: the new content replaces the old. Its rows and quarantined lines are loaded, and in the transaction that
records its ledger row the old content's rows and quarantined lines are deleted; the ledger row says which content
it replaced and the run's result lists the file as `replaced`. The raw layer therefore holds exactly one load per
file, the last delivered.

A file that cannot be loaded (no header, an unreadable or repeated header name, a mandatory column missing) is
quarantined whole: every data line goes to `_quarantine` with the reason and the file is recorded, so the night
goes on with the other files. A line that cannot be a record is quarantined with its file, line and reason. Every
ledger row proves lines_in = rows_loaded + rows_quarantined; a count mismatch fails the run naming the file and
records nothing of it.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from warehouse.project import project_path

from . import ledger
from .csv_lines import check_encoding_name
from .destination import pipeline_name, postgres_destination
from .dialect import LANDING, Dialect, content_sha256
from .files_source import FileStats, PlannedFile, file_resources
from .raw_tables import ensure_raw_tables
from .summary import FileResult, IngestSummary

#: Rows per load file: every `FILE_MAX_ITEMS` rows dlt starts a new file, loaded by its own COPY job.
FILE_MAX_ITEMS = 200_000
LOAD_WORKERS = 4


def default_pipelines_dir() -> Path:
    """dlt's working folder (load packages, local state); ignored by git."""
    return project_path(".dlt", "pipelines")


def encoding_for(name: str, entity: str, overrides: Mapping[str, str]) -> str | None:
    """The override for a file: by file name, else by entity, else `*`; None means the dialect's rule."""
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


class _LineWriter(io.TextIOBase):
    """A text stream that hands every non-empty line to a log function (dlt's progress writes to a stream)."""

    def __init__(self, log: Callable[[str], None]):
        super().__init__()
        self._log = log

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self._log(line)
        return len(text)


def _pipeline(wh, dialect: Dialect, pipelines_dir: Path, say: Callable[[str], None], progress: bool):
    import dlt

    return dlt.pipeline(
        pipeline_name=pipeline_name(f"bankwh_{dialect.source}", wh),
        pipelines_dir=str(pipelines_dir),
        destination=postgres_destination(wh),
        dataset_name=dialect.schema,
        progress=dlt.progress.log(log_period=5.0, logger=_LineWriter(say), dump_system_stats=False)
        if progress
        else None,
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


def _verify(cur, schema: str, stats: list[FileStats], load_id: str) -> list[str]:
    """Compare what the load wrote with what was read; one message per file that does not add up."""
    problems = []
    by_entity: dict[str, list[FileStats]] = {}
    for s in stats:
        by_entity.setdefault(s.entity, []).append(s)
    names = [s.name for s in stats]
    in_quarantine = ledger.count_rows(cur, schema, ledger.QUARANTINE_TABLE, "file_name", "line_number", names, load_id)
    for entity, entity_stats in by_entity.items():
        names = [s.name for s in entity_stats]
        in_raw = ledger.count_rows(cur, schema, entity, "_file_name", "_line_number", names, load_id)
        for s in entity_stats:
            rows, distinct_rows = in_raw.get(s.name, (0, 0))
            quarantined, distinct_q = in_quarantine.get(s.name, (0, 0))
            if rows != distinct_rows or quarantined != distinct_q:
                problems.append(
                    f"{s.name}: a line number appears twice in {schema} ({rows} rows, {distinct_rows} lines)"
                )
            elif rows + quarantined != s.lines_in or rows != s.rows or quarantined != s.quarantined:
                problems.append(
                    f"{s.name}: {s.lines_in} lines read ({s.rows} records, {s.quarantined} quarantined) but "
                    f"{schema}.{entity} holds {rows} rows and _quarantine {quarantined} lines"
                )
    return problems


def _plan(cur, dialect: Dialect, found, overrides, summary: IngestSummary) -> list[PlannedFile]:
    """The deliveries to load: new names, and known names with another content (they replace the old one)."""
    known = ledger.loaded_files(cur, dialect.schema)
    planned = []
    for delivery in found:
        sha = content_sha256(delivery.path)
        if known.get(delivery.name) == sha:
            summary.files.append(FileResult(delivery.name, delivery.entity, "unchanged"))
        else:
            encoding = encoding_for(delivery.name, delivery.entity, overrides) or dialect.encoding
            planned.append(PlannedFile(delivery, sha, encoding))
    return planned


def run_file_ingest(
    wh,
    dialect: Dialect,
    folder: Path | str,
    pipelines_dir: Path | str | None = None,
    progress: bool = True,
    encoding_overrides: Mapping[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> IngestSummary:
    """Load every delivery of `dialect` under `folder` that the raw layer does not hold with the same content.

    Returns the run's result (see `summary.py`): one `FileResult` per delivery, `loaded`, `replaced`, `unchanged`
    or `quarantined` (the whole file, with its reason). A line-count mismatch raises RuntimeError naming the file.
    Every raw table of the contracts exists afterwards, the ones nothing was delivered for empty (see
    `raw_tables.py`). `encoding_overrides` maps a file name (`transactions/2025-01-03.csv`), an entity or `*` to a
    codec name instead of the dialect's rule.
    """
    started = time.perf_counter()
    say = log if progress else (lambda _msg: None)
    summary = IngestSummary(source=dialect.source)
    found, summary.notes = dialect.discover(Path(folder))

    lock_conn = wh.connect()
    lock_conn.autocommit = True
    with ExitStack() as stack:
        stack.callback(lock_conn.close)
        ledger.acquire_run_lock(lock_conn)
        stack.callback(ledger.release_run_lock, lock_conn)
        # every raw table exists before the load (dlt finds them in place) and before dbt reads them
        ensure_raw_tables(wh, log=say)
        with lock_conn.cursor() as cur:
            planned = _plan(cur, dialect, found, encoding_overrides or {}, summary)
        with dlt_settings():
            folder_of_pipelines = Path(pipelines_dir) if pipelines_dir else default_pipelines_dir()
            pipeline = _pipeline(wh, dialect, folder_of_pipelines, say, progress)
            if pipeline.has_pending_data:
                # abort (not resume) the interrupted package: the ledger decides what reloads, and the local
                # schema goes back to where the package started; load() completes the abort
                pipeline.abort_packages()
                pipeline.load()
                summary.notes.append("dropped the unfinished load package of an interrupted run; its files reload")
                log(f"{dialect.source}: {summary.notes[-1]}")
            with wh.cursor(autocommit=False) as cur:
                deleted = ledger.delete_unrecorded_rows(cur, dialect.schema)
            if deleted:
                summary.notes.append(
                    "removed rows of an interrupted load: " + ", ".join(f"{t} {n}" for t, n in deleted.items())
                )
                log(f"{dialect.source}: {summary.notes[-1]}")
            log(
                f"{dialect.source}: {len(found)} files in {folder}, {len(planned)} to load, "
                f"{len(summary.with_status('unchanged'))} already loaded"
            )
            if planned:
                _load_planned(wh, dialect, pipeline, planned, summary, say)
    summary.files.sort(key=lambda f: f.file_name)
    summary.seconds = time.perf_counter() - started
    counts = summary.counts()
    log(
        f"{dialect.source}: loaded {counts['files_loaded']} files, {counts['rows']} rows and {counts['quarantined']} "
        f"quarantined lines into {dialect.schema} in {summary.seconds:.1f} s"
    )
    return summary


def run_files_ingest(wh, data_dir: Path | str, pipelines_dir: Path | str | None = None, **options) -> IngestSummary:
    """The core bank's landing files (`<entity>/YYYY-MM-DD.csv` under `data_dir`) into `raw_core_banking`."""
    return run_file_ingest(wh, LANDING, data_dir, pipelines_dir, **options)


def _load_planned(wh, dialect: Dialect, pipeline, planned: list[PlannedFile], summary: IngestSummary, say) -> None:
    loaded_at = datetime.now(UTC)
    stats = {p.name: FileStats(p.name, p.entity, p.sha256) for p in planned}
    count = iter(range(1, len(planned) + 1))

    def file_done(s: FileStats) -> None:
        state = (
            f"QUARANTINED whole ({s.quarantined} lines): {s.rejected_reason}"
            if s.rejected_reason
            else f"{s.rows} rows, {s.quarantined} quarantined, {s.encoding}"
        )
        say(f"  [{next(count)}/{len(planned)}] {s.name}: {state} ({s.seconds:.2f} s)")

    resources = file_resources(planned, dialect, stats, loaded_at, on_file_done=file_done)
    load_id = _load(pipeline, resources, say)
    with wh.cursor(autocommit=False) as cur:
        problems = _verify(cur, dialect.schema, list(stats.values()), load_id)
        bad = {p.split(":", 1)[0] for p in problems}
        if not problems:
            for table in {s.entity for s in stats.values() if s.rows}:
                ledger.ensure_line_index(cur, dialect.schema, table, "_file_name", "_line_number")
            if any(s.quarantined for s in stats.values()):
                ledger.ensure_line_index(cur, dialect.schema, ledger.QUARANTINE_TABLE, "file_name", "line_number")
        replaced = ledger.record(
            cur,
            dialect.schema,
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
                    s.rejected_reason,
                    load_id,
                    loaded_at,
                )
                for s in stats.values()
                if s.name not in bad
            ],
        )
    _analyze(wh, dialect.schema, {s.entity for s in stats.values()})
    summary.load_id = load_id
    for s in stats.values():
        status = "quarantined" if s.rejected_reason else "replaced" if s.name in replaced else "loaded"
        message = s.rejected_reason or ""
        if s.name in replaced:
            message = f"replaces the content loaded before (sha256 {replaced[s.name]})"
        summary.files.append(
            FileResult(
                s.name,
                s.entity,
                "failed" if s.name in bad else status,
                s.lines_in,
                s.rows,
                s.quarantined,
                s.encoding,
                s.new_columns,
                s.missing_columns,
                s.seconds,
                next((p for p in problems if p.startswith(s.name + ":")), message),
            )
        )
    if problems:
        raise RuntimeError("line accounting failed, not recorded: " + "; ".join(problems))


def _analyze(wh, schema: str, tables: set[str]) -> None:
    """Refresh planner statistics of the tables just loaded: without them PostgreSQL guesses one row per freshly
    loaded table and the first staging build plans nested loops that take minutes instead of milliseconds."""
    from psycopg2 import sql

    with wh.cursor() as cur:
        for table in sorted(tables | {ledger.LEDGER_TABLE, ledger.QUARANTINE_TABLE}):
            cur.execute(sql.SQL("analyze {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
