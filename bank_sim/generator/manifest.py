"""`manifest.json`: the ground truth of a generated folder (settings, every file's counts, totals)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .writer import to_cents

MANIFEST = "manifest.json"


def load(out: Path) -> dict:
    path = out / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path}: no manifest; run `bankwh generate --out {out}` first")
    return json.loads(path.read_text(encoding="utf-8"))


def totals(files: dict[str, dict]) -> dict[str, object]:
    """Per-entity sums of files, lines, valid rows and defects, recomputed from the file records."""
    per_entity: dict[str, Counter] = {}
    defects: Counter = Counter()
    amount: dict[str, int] = {}
    for rec in files.values():
        c = per_entity.setdefault(rec["entity"], Counter())
        c["files"] += 1
        c["lines"] += rec["lines"]
        c["rows_valid"] += rec["rows_valid"]
        defects.update(rec["defects"])
        if "amount_sum" in rec:
            amount[rec["entity"]] = amount.get(rec["entity"], 0) + to_cents(rec["amount_sum"])
    return {
        "entities": {k: dict(sorted(v.items())) for k, v in sorted(per_entity.items())},
        "defects": dict(sorted(defects.items())),
        "amount_sums": {
            k: f"{'-' if v < 0 else ''}{abs(v) // 100}.{abs(v) % 100:02d}" for k, v in sorted(amount.items())
        },
    }


def write(out: Path, generator: dict[str, object], files: dict[str, dict], extra: dict[str, object]) -> dict:
    manifest = {
        "generator": generator,
        "files": dict(sorted(files.items())),
        "totals": {**totals(files), **extra},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
