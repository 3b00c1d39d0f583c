"""What an ingest run did, per file, in a form the CLI prints and the orchestration checks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileResult:
    """One landing file in one run: `loaded`, `unchanged` (already in the ledger) or `failed` (see `message`)."""

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
        return self.with_status("loaded")

    @property
    def errors(self) -> list[str]:
        return [f.message for f in self.with_status("failed")]

    @property
    def schema_changes(self) -> list[str]:
        changes = []
        for f in self.loaded:
            if f.new_columns:
                changes.append(f"{f.file_name}: new column(s) {', '.join(f.new_columns)}")
            if f.missing_columns:
                changes.append(f"{f.file_name}: optional column(s) absent {', '.join(f.missing_columns)}")
        return changes

    def table(self) -> str:
        """The loaded and failed files as an aligned text table with a total line."""
        shown = [f for f in self.files if f.status != "unchanged"]
        header = ("file", "status", "rows", "quarantined", "seconds")
        body = [(f.file_name, f.status, str(f.rows), str(f.quarantined), f"{f.seconds:.2f}") for f in shown]
        total = (
            "total",
            f"{len(self.loaded)} loaded",
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
        return "\n".join([fmt(header), rule, *(fmt(r) for r in body), rule, fmt(total)])
