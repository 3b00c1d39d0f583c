"""The Czech bank (PKDD'99, "Berka") into `raw_berka`: where its files are, and the run of the file loader on them.

The files go through the same loader as the landing files (`files_pipeline.run_file_ingest` with the `BERKA`
dialect of `berka_source.py`): one ledger design (`raw_berka._file_loads`, key file name + content sha256), one
run lock, one rule for a changed re-delivery (the new content replaces the old), one quarantine design, one result.
"""

from __future__ import annotations

import os
from pathlib import Path

from .berka_source import BERKA
from .files_pipeline import run_file_ingest
from .summary import IngestSummary


def shipped_berka_dir() -> Path:
    """The compressed copy of the data set that travels with the project (`data_sets/berka`, package data)."""
    import data_sets

    return data_sets.folder("berka")


def default_berka_dir() -> Path:
    """`BANKWH_BERKA_DIR` when set (plain `.asc` or `.asc.gz` files), else the copy shipped with the project."""
    override = os.environ.get("BANKWH_BERKA_DIR", "").strip()
    return Path(override) if override else shipped_berka_dir()


def run_berka_ingest(wh, berka_dir: Path | str | None = None, **options) -> IngestSummary:
    """Load every Czech bank file whose content `raw_berka` does not hold yet (options: see `run_file_ingest`)."""
    return run_file_ingest(wh, BERKA, berka_dir if berka_dir is not None else default_berka_dir(), **options)
