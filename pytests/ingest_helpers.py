"""Small landing files written by hand, following docs/source_contract.md, for the ingest tests."""

from __future__ import annotations

from pathlib import Path

from ingest.contract import ENTITIES


def write_lines(data_dir: Path, entity: str, day: str, lines: list[str | bytes], encoding: str = "utf-8") -> Path:
    """Write `<data_dir>/<entity>/<day>.csv` from physical lines (str encoded with `encoding`, bytes as is), LF."""
    path = data_dir / entity / f"{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = b"".join((line if isinstance(line, bytes) else line.encode(encoding)) + b"\n" for line in lines)
    path.write_bytes(raw)
    return path


def header(entity: str, extra: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> str:
    return ",".join([c for c in ENTITIES[entity].columns if c not in drop] + list(extra))


def txn(i: int, day: str, merchant: str = "Shop", amount: str = "-12.50", description: str = "card payment") -> str:
    """One transaction line in contract column order."""
    return ",".join(
        [
            f"T{i:07d}",
            f"A{i % 5:05d}",
            f"{day}T10:{i % 60:02d}:00",
            day,
            amount,
            "EUR",
            "card_pos",
            "5411",
            merchant,
            "",
            description,
        ]
    )


def client(i: int, day: str, city: str = "Paris") -> str:
    return ",".join(
        [
            f"C{i:06d}",
            "Anna",
            "Novak",
            "1980-04-01",
            f"NID{i}",
            f"anna{i}@example.org",
            "+33100000000",
            "1 rue de la Paix",
            city,
            "75001",
            "FR",
            "mass",
            "2",
            "verified",
            "2020-01-01",
            f"{day}T08:00:00",
        ]
    )
