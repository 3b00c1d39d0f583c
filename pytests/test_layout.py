"""The package layout: one job per package, imports in one direction, and an installed copy that works.

Why an install test: the project directory used to be computed from a module's `__file__`, which in a
non-editable install points into site-packages, far from dbt_project.yml and data/. The commands now find the
project as dbt and git do (warehouse/project.py); this installs the packages into a folder of their own, without
editable mode, and runs the installed `bankwh` from inside and outside the project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from project_root import PROJECT_ROOT
from warehouse.project import MARKER, PROJECT_ENV, ProjectNotFoundError, project_dir

PACKAGES = ("bankwh", "orchestration", "ingest", "publishing", "warehouse", "bank_sim")
#: What the copy used for the install leaves out: generated state, not sources.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".warehouse", ".dlt", ".bench", "data", "target*", "logs", "dbt_packages", "build",
    "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


def _package_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (PROJECT_ROOT / package).rglob("*.py"))


def test_no_package_computes_the_project_directory_from_its_own_file():
    offenders = [str(p.relative_to(PROJECT_ROOT)) for p in _package_modules() if "__file__" in p.read_text()]
    assert offenders == [], "use warehouse.project.project_dir() (or importlib.resources for package data)"


def test_no_package_holds_a_module_dbt_would_take_for_a_plugin():
    """dbt imports every `dbt_*` module it finds on sys.path; a worker puts orchestration/ there."""
    assert [str(p.relative_to(PROJECT_ROOT)) for p in _package_modules() if p.name.startswith("dbt_")] == []


def test_project_directory_is_the_nearest_ancestor_holding_dbt_project_yml(tmp_path, monkeypatch):
    monkeypatch.delenv(PROJECT_ENV, raising=False)
    (tmp_path / MARKER).write_text("name: x\n")
    deep = tmp_path / "models" / "marts"
    deep.mkdir(parents=True)
    assert project_dir(deep) == tmp_path.resolve()
    monkeypatch.setenv(PROJECT_ENV, str(PROJECT_ROOT))
    assert project_dir(deep) == PROJECT_ROOT  # the variable wins over the working directory
    monkeypatch.setenv(PROJECT_ENV, str(deep))
    with pytest.raises(ProjectNotFoundError, match=f"{PROJECT_ENV}=.* does not hold {MARKER}"):
        project_dir()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project installed without editable mode into a folder of its own (built from a copy of the sources,
    so the build leaves nothing in the working tree)."""
    work = tmp_path_factory.mktemp("install")
    source, target = work / "source", work / "target"
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_SOURCES)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
         str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    shutil.rmtree(source)  # from here on only the installed copy exists
    return target


def _run_installed(target: Path, cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """The installed `bankwh` script, its packages first on the path, without the variables that would name a
    project, a warehouse folder or an external server for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "BANKWH_"))}
    env.update(PYTHONPATH=str(target), **extra)
    return subprocess.run(
        [str(target / "bin" / "bankwh"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_installed_copy_is_the_one_that_runs(installed):
    probe = "import bankwh, ingest, orchestration, publishing, warehouse; print(warehouse.__file__)"
    env = dict(os.environ, PYTHONPATH=str(installed))
    out = subprocess.run([sys.executable, "-c", probe], cwd=installed.parent, env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert Path(out.strip()).is_relative_to(installed)


def test_installed_bankwh_finds_the_project_from_its_folders(installed, tmp_path):
    help_run = _run_installed(installed, tmp_path, "--help")  # help needs no project
    assert help_run.returncode == 0 and "bankwh" in help_run.stdout, help_run.stderr
    for cwd in (PROJECT_ROOT, PROJECT_ROOT / "models"):
        status = _run_installed(installed, cwd, "db", "status")
        # running or not (exit 0 or 1), it describes this project's embedded server
        assert f"data {PROJECT_ROOT / '.warehouse' / 'pgdata'}" in status.stdout, (cwd, status.stdout, status.stderr)
    named = _run_installed(installed, tmp_path, "db", "status", BANKWH_PROJECT_DIR=str(PROJECT_ROOT))
    assert f"data {PROJECT_ROOT / '.warehouse' / 'pgdata'}" in named.stdout, named.stderr


def test_installed_bankwh_outside_any_project_says_so_in_one_line(installed, tmp_path):
    for args in (("db", "env"), ("build", "--threads", "1"), ("status",)):
        result = _run_installed(installed, tmp_path, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and PROJECT_ENV in lines[0] and MARKER in lines[0], (args, result.stderr)
