"""The dbt documentation site in a real browser: the lineage of fact_transactions reaches back to its sources.

The site is what `dbt docs generate` writes for the session's built warehouse (fixture `catalogued`: index.html,
manifest.json, catalog.json), served as static files on loopback, as `bankwh docs serve` and the compose service
`docs` serve them. Headless Chromium (fixture `browser`) opens the model's page and its lineage graph; the graph's
nodes are read from the page's own Cytoscape instance and compared with the manifest's lineage. The screenshot is
the README's docs/screenshots/dbt-docs-lineage.png.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from screens import SCREENSHOTS

FACT = "model.bank_warehouse.fact_transactions"
#: The Cytoscape instance dbt's docs page draws its lineage graph with (cytoscape keeps it on its container).
GRAPH_NODES = """() => {
    const container = Array.from(document.querySelectorAll('div')).find(el => el._cyreg && el._cyreg.cy);
    if (!container) return null;
    return container._cyreg.cy.nodes().filter(n => n.visible()).map(n => n.id());
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the site's requests are not the test's output
        pass


@pytest.fixture(scope="module")
def docs_site(catalogued: Path) -> Iterator[str]:
    """The generated site on a static HTTP server on loopback (a free port)."""
    handler = functools.partial(_QuietHandler, directory=str(catalogued))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _reachable(links: dict[str, list[str]], unique_id: str) -> set[str]:
    """Every node reachable from unique_id through the manifest's parent map (its ancestors), tests left out."""
    seen, todo = set(), [unique_id]
    while todo:
        for node in links.get(todo.pop(), []):
            if node not in seen:
                seen.add(node)
                todo.append(node)
    return {node for node in seen if not node.startswith("test.")}


def test_lineage_of_fact_transactions_shows_its_sources(docs_site: str, catalogued: Path, browser) -> None:
    manifest = json.loads((catalogued / "manifest.json").read_text())
    ancestors = _reachable(manifest["parent_map"], FACT)
    sources = {node for node in ancestors if node.startswith("source.")}
    children = [node for node in manifest["child_map"][FACT] if node.startswith("model.")]
    assert children
    assert "source.bank_warehouse.core_banking.transactions" in sources
    assert any(s.startswith("source.bank_warehouse.raw_berka.") for s in sources)

    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        page.goto(f"{docs_site}/#!/model/{FACT}", wait_until="networkidle")
        page.get_by_text("fact_transactions", exact=False).first.wait_for(timeout=60_000)
        # the model's page: its description and columns come from the manifest and the catalog
        page.get_by_text("transaction_key").first.wait_for(timeout=30_000)
        page.locator(".launcher-btn a").first.click()  # "View Lineage Graph": its parents and children
        page.wait_for_function(f"() => {{ const n = ({GRAPH_NODES})(); return n && n.length > 1; }}", timeout=60_000)
        page.locator("[ng-click='showExpanded()']").first.click()  # "View Fullscreen"
        # everything upstream of the fact, back to the sources: `+fact_transactions`
        page.locator("input[ng-model='selectorService.selection.dirty.include']").fill("+fact_transactions")
        page.get_by_role("button", name="Update Graph").click()
        # drawn once the sources are in and the fact's children (the previous selection's) are gone
        page.wait_for_function(
            f"""(children) => {{
                const n = ({GRAPH_NODES})();
                return n && n.some(id => id.startsWith('source.')) && !n.some(id => children.includes(id));
            }}""",
            arg=children,
            timeout=60_000,
        )
        page.wait_for_timeout(1500)  # let the layout settle before the screenshot
        shown = set(page.evaluate(GRAPH_NODES))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "dbt-docs-lineage.png"))
    finally:
        page.close()

    assert FACT in shown
    assert sources <= shown, f"sources missing from the lineage graph: {sorted(sources - shown)}"
    assert ancestors <= shown, f"upstream nodes missing from the lineage graph: {sorted(ancestors - shown)}"
    # the model's lineage, not the whole project: every node drawn (tests aside) is upstream of it
    drawn = {node for node in shown if not node.startswith(("test.", "unit_test."))}
    assert drawn == ancestors | {FACT}, sorted(drawn ^ (ancestors | {FACT}))
