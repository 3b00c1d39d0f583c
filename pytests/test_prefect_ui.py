"""The Prefect UI in a real browser (headless Chromium, pytests/screens.py): the `nightly` deployment with its cron and
time zone, and a night run from it with its tasks and artifacts. The night is test_deploy.py's (one server, one
deployment, one night per session); the screenshots are the README's (docs/screenshots/prefect-*.png).
"""

from __future__ import annotations

import pytest
from screens import SCREENSHOTS
from test_deploy import api, deployed_night  # noqa: F401  (the session's night, shared with test_deploy.py)

VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture
def page(browser):
    # the bank's time zone, as its operators' browsers would have it
    context = browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Paris")
    yield context.new_page()
    context.close()


def test_the_deployment_shows_its_cron_and_time_zone(deployed_night, page):  # noqa: F811
    ui = deployed_night.url.removesuffix("/api")
    page.goto(f"{ui}/deployments/deployment/{deployed_night.deployment['id']}")
    schedule = page.locator(".deployment-schedule-card__content")
    schedule.wait_for(timeout=60_000)
    assert schedule.inner_text().strip() == "At 02:00 AM every day"
    schedule.hover()  # the time zone is in the schedule's tooltip
    page.get_by_text("At 02:00 AM every day (Europe/Paris)").first.wait_for(timeout=30_000)
    assert page.get_by_text("bank-warehouse-process").first.is_visible()  # the process pool it runs on
    assert page.get_by_text("orchestration/flows.py:nightly").is_visible()
    page.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "prefect-deployment.png"))


def test_a_finished_night_shows_its_tasks_and_artifacts(deployed_night, page):  # noqa: F811
    ui = deployed_night.url.removesuffix("/api")
    run = api(deployed_night.url, f"/flow_runs/{deployed_night.flow_run_id}")
    page.goto(f"{ui}/runs/flow-run/{deployed_night.flow_run_id}")
    page.get_by_text(run["name"], exact=True).first.wait_for(timeout=60_000)
    assert page.get_by_text("Completed", exact=True).first.is_visible()

    # every step of the night a task, every one Completed (their names are in the run graph above the tabs, and
    # checked through the API in test_deploy.py)
    run_filter = {"id": {"any_": [deployed_night.flow_run_id]}}
    steps = {"flow_runs": run_filter, "task_runs": {"subflow_runs": {"exists_": False}}}
    count = api(deployed_night.url, "/task_runs/count", steps)
    assert count >= 10
    page.get_by_text("Task Runs", exact=True).click()
    page.get_by_text(f"({count} Completed)").first.wait_for(timeout=30_000)
    assert f"{count} Task runs" in page.inner_text("body")

    page.get_by_text("Artifacts", exact=True).click()
    page.get_by_text("nightly-summary").first.wait_for(timeout=30_000)
    assert page.get_by_text("quality-report").first.is_visible()
    page.wait_for_timeout(1000)  # the run graph settles
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "prefect-run.png"))

    # the summary itself, as an operator opens it: rows and Delta version per mart
    page.get_by_text("nightly-summary").first.click()
    page.get_by_text("Nightly run: published").first.wait_for(timeout=30_000)
    page.locator("td", has_text="fact_sales").first.wait_for(timeout=30_000)
    assert "Marts: rows and Delta versions" in page.inner_text("body")
