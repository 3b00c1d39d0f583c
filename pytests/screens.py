"""A real browser for the screen tests: headless Chromium from Debian's `chromium` package, driven by Playwright.

Why Debian's binary and not Playwright's own download: browser downloads from outside the package registries are not
available where this project is built and tested, and a bank's CI usually has the same rule. `make test` installs the
package when it is missing (Makefile, target `system-packages`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: The Chromium binary: $BANKWH_CHROMIUM, else Debian's.
CHROMIUM = os.environ.get("BANKWH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
#: Where the screen tests leave their screenshots; the README shows the ones copied to docs/screenshots/.
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (playwright Browser), closed on exit."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (make system-packages)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()
