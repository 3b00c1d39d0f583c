"""Deterministic, vectorised generator of the demo bank's landing files (see docs/source_contract.md).

`generate()` writes a whole period; `next_day()` appends one more business day to an existing output folder.
"""

from .run import GenerateResult, generate, next_day
from .settings import Settings

__all__ = ["GenerateResult", "Settings", "generate", "next_day"]
