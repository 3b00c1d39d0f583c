"""The result of an ingest run, the same for every source: one line per file (or API table) and run-level notes.

The CLI prints it (`table()`, then notes, schema changes, quarantined files with their reason, errors) and the
nightly flow keeps its `counts()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileResult:
    """One delivered file in one run: `loaded`, `replaced` (a changed re-delivery; its new content replaced the old),
    `unchanged` (in the ledger with this content), `quarantined` (the whole file, `message` says why) or `failed`
    (its lines did not add up, nothing of it recorded; see `message`)."""

    file_name: str
    entity: str
    status: str
    lines_in: int = 0
    rows: int = 0
    quarantined: int = 0
    encoding: str = ""
    new_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    seconds: float = 0.0
    message: str = ""


@dataclass
class IngestSummary:
    """Per-file results plus run-level notes; `errors` is empty when every file was loaded or unchanged."""

    source: str
    files: list[FileResult] = field(default_factory=list)
    load_id: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def loaded(self) -> list[FileResult]:
        """Files whose lines the run loaded: new files, changed re-deliveries and files quarantined whole."""
        return [f for f in self.files if f.status in ("loaded", "replaced", "quarantined")]

    @property
    def errors(self) -> list[str]:
        return [f.message for f in self.with_status("failed")]

    @property
    def quarantined_files(self) -> list[str]:
        """`name: reason` of every file quarantined whole by this run."""
        return [f"{f.file_name}: {f.message}" for f in self.with_status("quarantined")]

    def counts(self) -> dict[str, object]:
        """The run in numbers, as the nightly summary keeps it."""
        return {
            "files": len(self.files),
            "files_loaded": len(self.loaded),
            "files_replaced": len(self.with_status("replaced")),
            "files_skipped": len(self.with_status("unchanged")),
            "rows": sum(f.rows for f in self.loaded),
            "quarantined": sum(f.quarantined for f in self.loaded),
            "files_quarantined": self.quarantined_files,
            "notes": self.notes,
        }

    @property
    def schema_changes(self) -> list[str]:
        changes = []
        for f in self.loaded:
            if f.new_columns:
                changes.append(f"{f.file_name}: new column(s) {', '.join(f.new_columns)}")
            if f.missing_columns:
                changes.append(f"{f.file_name}: optional column(s) absent {', '.join(f.missing_columns)}")
        return changes

    def table(self, notable_only: bool = False, limit: int | None = None) -> str:
        """The files this run read (all but the unchanged) as an aligned text table with a total line.

        `notable_only` keeps the files a reader must look at (replaced, quarantined, failed, or with quarantined
        lines): a night reads thousands of clean files, whose lines belong in `monitoring.ingest_files`, not the log.
        `limit` caps the files that loaded with a few quarantined lines (a first night of the demo bank has 160);
        files replaced, quarantined whole or failed are always shown, and a line counts the rest.
        """
        shown = [f for f in self.files if f.status != "unchanged"]
        more = 0
        if notable_only:
            shown = [f for f in shown if f.status != "loaded" or f.quarantined]
        if limit is not None:
            partly = [f for f in shown if f.status == "loaded"]
            more = max(len(partly) - limit, 0)
            hidden = {id(f) for f in partly[limit:]}
            shown = [f for f in shown if id(f) not in hidden]
        header = ("file", "status", "lines", "rows", "quarantined", "seconds")
        body = [
            (f.file_name, f.status, str(f.lines_in), str(f.rows), str(f.quarantined), f"{f.seconds:.2f}") for f in shown
        ]
        total = (
            "total",
            f"{len(self.loaded)} loaded",
            str(sum(f.lines_in for f in self.loaded)),
            str(sum(f.rows for f in self.loaded)),
            str(sum(f.quarantined for f in self.loaded)),
            f"{self.seconds:.2f}",
        )
        rows = [header, *body, total]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

        def fmt(r: tuple[str, ...]) -> str:
            return "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )

        rule = "  ".join("-" * w for w in widths)
        rest = [f"... and {more} more file(s) with quarantined lines (all in monitoring.ingest_files)"] * bool(more)
        return "\n".join([fmt(header), rule, *(fmt(r) for r in body), *rest, rule, fmt(total)])
