"""Loading the Berka files into `raw_berka` with dlt, once per file content, with proof that nothing was lost.

Why the bookkeeping: a file is identified by its plain name and the sha256 of its decompressed bytes (`trans.asc`
and `trans.asc.gz` holding the same lines are one delivery, loaded once). `raw_berka._file_loads` gets one row per
loaded file, written only after the row counts in the warehouse were checked against the lines read
(lines_in = rows_loaded + rows_quarantined). That row is the commit marker: a re-run skips contents already
recorded, and staging reads only the load each marker names, so an interrupted run never doubles a row.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .berka_source import BERKA_FILES, ParsedFile, berka_paths, content_sha256, delivered_name, parse_file
from .destination import pipeline_name, postgres_destination
from .raw_tables import ensure_raw_tables

SCHEMA = "raw_berka"
FILE_LOADS_DDL = f"""
create table if not exists {SCHEMA}._file_loads (
    file_name text not null,
    entity text not null,
    content_sha256 text not null,
    encoding text not null,
    lines_in bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    new_columns text,
    load_id text not null,
    loaded_at timestamptz not null,
    primary key (file_name, load_id)
)
"""
QUARANTINE_DDL = f"""
create table if not exists {SCHEMA}._quarantine (
    file_name text not null,
    line_number bigint not null,
    raw_line text not null,
    reason text not null,
    _loaded_at timestamptz not null,
    _dlt_load_id text not null
)
"""
QUARANTINE_COLUMNS = {
    "file_name": {"data_type": "text", "nullable": False},
    "line_number": {"data_type": "bigint", "nullable": False},
    "raw_line": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "_loaded_at": {"data_type": "timestamp", "nullable": False},
}


def shipped_berka_dir() -> Path:
    """The compressed copy of the data set that travels with the project (`data_sets/berka`, package data)."""
    import data_sets

    return data_sets.folder("berka")


def default_berka_dir() -> Path:
    """`BANKWH_BERKA_DIR` when set (plain `.asc` or `.asc.gz` files), else the copy shipped with the project."""
    override = os.environ.get("BANKWH_BERKA_DIR", "").strip()
    return Path(override) if override else shipped_berka_dir()


def _loaded_hashes(wh) -> set[tuple[str, str]]:
    """(file name, sha256) pairs already recorded; empty when the schema is new."""
    with wh.cursor() as cur:
        cur.execute("select to_regclass(%s)", (f"{SCHEMA}._file_loads",))
        if cur.fetchone()[0] is None:
            return set()
        cur.execute(f"select file_name, content_sha256 from {SCHEMA}._file_loads")
        return {(name, sha) for name, sha in cur.fetchall()}


def _berka_source(parsed: list[ParsedFile]):
    """One dlt resource per raw table (Arrow chunks) plus the quarantine table."""
    import dlt

    resources = [
        dlt.resource(iter(item.chunks), name=BERKA_FILES[item.entity], write_disposition="append") for item in parsed
    ]
    quarantined = [row for item in parsed for row in item.quarantine]

    resources.append(
        dlt.resource(iter([quarantined]), name="_quarantine", write_disposition="append", columns=QUARANTINE_COLUMNS)
    )
    return resources


def _verify_and_record(wh, parsed: list[ParsedFile], load_id: str, loaded_at: datetime) -> None:
    """Count what the warehouse holds for this load and record each file only when every line is accounted for."""
    from psycopg2 import sql

    with wh.cursor(autocommit=False) as cur:
        cur.execute(FILE_LOADS_DDL)
        cur.execute(QUARANTINE_DDL)  # present even when no line was ever quarantined, so checks can count it
        for item in parsed:
            table = BERKA_FILES[item.entity]
            cur.execute(
                sql.SQL("select count(*) from {}.{} where _file_name = %s and _dlt_load_id = %s").format(
                    sql.Identifier(SCHEMA), sql.Identifier(table)
                ),
                (item.file_name, load_id),
            )
            in_raw = cur.fetchone()[0]
            cur.execute(
                f"select count(*) from {SCHEMA}._quarantine where file_name = %s and _dlt_load_id = %s",
                (item.file_name, load_id),
            )
            in_quarantine = cur.fetchone()[0]
            if in_raw != item.rows_loaded or in_raw + in_quarantine != item.lines_in:
                raise RuntimeError(
                    f"{item.file_name}: {item.lines_in} data lines read but the warehouse holds {in_raw} rows "
                    f"and {in_quarantine} quarantined lines for load {load_id}"
                )
            cur.execute(
                f"insert into {SCHEMA}._file_loads values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    item.file_name,
                    item.entity,
                    item.content_sha256,
                    "ascii",
                    item.lines_in,
                    in_raw,
                    in_quarantine,
                    None,
                    load_id,
                    loaded_at,
                ),
            )


def _analyze(wh, tables: list[str]) -> None:
    """Refresh planner statistics: without them PostgreSQL guesses one row per freshly loaded table and the
    staging joins (rows x the load that counts) turn into nested loops that take minutes instead of milliseconds."""
    from psycopg2 import sql

    with wh.cursor() as cur:
        for table in [*tables, "_file_loads", "_quarantine"]:
            cur.execute(sql.SQL("analyze {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table)))


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


def run_berka_ingest(
    wh, berka_dir: Path | None = None, pipelines_dir: Path | None = None, log=print, progress: bool = True
) -> dict:
    """Load every Berka file whose content is not in `raw_berka` yet; return a summary of what happened.

    Summary keys: `loaded` (plain file name, `trans.asc` also for `trans.asc.gz` → lines_in/rows_loaded/
    rows_quarantined), `skipped` (files already loaded with the same content), `load_id`, `seconds`. The other
    sources' raw schemas are created empty when they do not exist yet, so the warehouse also builds when the Czech
    bank is its only source.

    Progress goes to `log`: one line per file read (`  [i/n] trans.asc: ...`, as the landing-file ingest
    prints), the load steps, and dlt's periodic progress while the rows are written; `progress=False` keeps
    only the first and last line (the per-file lines and dlt's progress are left out).
    """
    import dlt

    started = time.perf_counter()
    berka_dir = Path(berka_dir) if berka_dir is not None else default_berka_dir()
    paths = berka_paths(berka_dir)
    known = _loaded_hashes(wh)
    todo = [p for p in paths if (delivered_name(p), content_sha256(p)) not in known]
    skipped = [delivered_name(p) for p in paths if p not in todo]
    summary: dict = {"berka_dir": str(berka_dir), "loaded": {}, "skipped": skipped, "load_id": None}
    ensure_raw_tables(wh, log=log)
    if not todo:
        log(f"berka: all {len(paths)} files already loaded, nothing to do")
        summary["seconds"] = round(time.perf_counter() - started, 3)
        return summary

    say = log if progress else (lambda _msg: None)
    log(f"berka: {len(paths)} files in {berka_dir}, {len(todo)} to load, {len(skipped)} already loaded")
    loaded_at = datetime.now(UTC)
    parsed = []
    for i, path in enumerate(todo, 1):
        file_started = time.perf_counter()
        item = parse_file(path, loaded_at)
        say(
            f"  [{i}/{len(todo)}] {path.name}: {item.rows_loaded} rows, {len(item.quarantine)} quarantined "
            f"({time.perf_counter() - file_started:.2f} s)"
        )
        parsed.append(item)
    say(f"berka: loading {sum(item.rows_loaded for item in parsed)} rows into {SCHEMA} (dlt)")

    with tempfile.TemporaryDirectory(prefix="bankwh-berka-") as tmp:
        pipeline = dlt.pipeline(
            pipeline_name=pipeline_name("berka", wh),
            pipelines_dir=str(pipelines_dir or tmp),
            destination=postgres_destination(wh),
            dataset_name=SCHEMA,
            progress=dlt.progress.log(log_period=5.0, logger=_LineWriter(say), dump_system_stats=False)
            if progress
            else None,
        )
        dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
        info = pipeline.run(_berka_source(parsed), loader_file_format="insert_values")
        info.raise_on_failed_jobs()
        load_id = info.loads_ids[0]

    say("berka: counting rows per file and recording the loads")
    _verify_and_record(wh, parsed, load_id, loaded_at)
    _analyze(wh, [BERKA_FILES[item.entity] for item in parsed])
    for item in parsed:
        summary["loaded"][item.file_name] = {
            "lines_in": item.lines_in,
            "rows_loaded": item.rows_loaded,
            "rows_quarantined": len(item.quarantine),
            "content_sha256": item.content_sha256,
        }
    summary["load_id"] = load_id
    summary["seconds"] = round(time.perf_counter() - started, 3)
    total = sum(v["rows_loaded"] for v in summary["loaded"].values())
    log(f"berka: loaded {len(parsed)} files, {total} rows into {SCHEMA} in {summary['seconds']} s")
    return summary
