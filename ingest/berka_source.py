"""The PKDD'99 Czech bank ("Berka") files as a delimited-file source: their dialect and how they are found.

The files are semicolon separated, ASCII, CRLF terminated, strings in double quotes, header on line 1. Every value
is kept as text exactly as delivered: a quoted field keeps its content (`""` stays an empty string, `" "` stays a
space), an unquoted empty field (`;;`) becomes NULL, because the file says "nothing here" in two different ways and
the raw layer must not merge them. A line that is not ASCII is quarantined.

A file may be delivered plain (`trans.asc`) or gzip-compressed (`trans.asc.gz`, as the project ships them): it is
read decompressed and known by its plain name and the sha256 of its decompressed content (see `dialect.py`).
"""

from __future__ import annotations

from pathlib import Path

from .contract import BERKA_ENTITIES, BERKA_SCHEMA
from .dialect import Delivery, Dialect, content_sha256, delivered_name, read_delivered

__all__ = ["BERKA", "berka_paths", "delivered_name", "holds_berka_files", "read_delivered"]


def _delivered(berka_dir: Path, stem: str) -> list[Path]:
    return [path for path in (berka_dir / f"{stem}.asc", berka_dir / f"{stem}.asc.gz") if path.is_file()]


def holds_berka_files(berka_dir: Path) -> bool:
    """True when the folder holds the Czech bank's transactions, plain or gzip-compressed."""
    return bool(_delivered(Path(berka_dir), "trans"))


def berka_paths(berka_dir: Path) -> list[Path]:
    """The eight files of the data set in a fixed order, each `<stem>.asc` or `<stem>.asc.gz`.

    A missing file is an error naming it. A file present in both forms is read plain when the two hold the same
    content (someone decompressed a copy beside it) and is an error naming it when they differ.
    """
    berka_dir = Path(berka_dir)
    if not berka_dir.is_dir():
        raise FileNotFoundError(f"Berka data folder not found: {berka_dir} (set BANKWH_BERKA_DIR)")
    found = {stem: _delivered(berka_dir, stem) for stem in BERKA_ENTITIES}
    missing = [f"{stem}.asc" for stem, paths in found.items() if not paths]
    if missing:
        raise FileNotFoundError(f"Berka data folder {berka_dir} lacks {', '.join(missing)} (plain or .gz)")
    differ = [
        f"{stem}.asc" for stem, paths in found.items() if len(paths) > 1 and len(set(map(content_sha256, paths))) > 1
    ]
    if differ:
        raise ValueError(
            f"Berka data folder {berka_dir}: {', '.join(differ)} differ from their .gz copies; keep one of each"
        )
    return [paths[0] for paths in found.values()]


def discover_berka(berka_dir: Path) -> tuple[list[Delivery], list[str]]:
    """The eight deliveries; the entity (raw table) is the file's stem: `trans.asc` → `trans`."""
    deliveries = []
    for path in berka_paths(berka_dir):
        name = delivered_name(path)
        deliveries.append(Delivery(name, path, name.removesuffix(".asc")))
    return deliveries, []


BERKA = Dialect(
    source="berka",
    schema=BERKA_SCHEMA,
    delimiter=";",
    encoding="ascii",
    quoted_empty_is_null=False,
    entities=BERKA_ENTITIES,
    discover=discover_berka,
)
