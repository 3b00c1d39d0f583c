"""Where the bank warehouse project lives: the folder holding dbt_project.yml, profiles.yml, prefect.yaml and data/.

Why not a path computed from this file: an installed copy of the packages (a wheel, `pip install --target`, a
Docker image) lives in site-packages, far from the project it works on. The project is found the way dbt and git
find theirs: `$BANKWH_PROJECT_DIR` when set, else the nearest ancestor of the working directory (itself included)
that holds `dbt_project.yml`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The variable that names the project directory explicitly (a worker, a cron job, a test).
PROJECT_ENV = "BANKWH_PROJECT_DIR"
#: The file that marks the project directory.
MARKER = "dbt_project.yml"


class ProjectNotFoundError(FileNotFoundError):
    """No project directory: the one-line message names both ways to give one."""


def project_dir(start: Path | str | None = None) -> Path:
    """The project directory: `$BANKWH_PROJECT_DIR`, else the nearest ancestor of `start` (default: the working
    directory) holding dbt_project.yml. Raises ProjectNotFoundError (a FileNotFoundError) when there is none."""
    named = os.environ.get(PROJECT_ENV, "").strip()
    if named:
        folder = Path(named).expanduser().resolve()
        if not (folder / MARKER).is_file():
            raise ProjectNotFoundError(f"{PROJECT_ENV}={named} does not hold {MARKER}")
        return folder
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise ProjectNotFoundError(
        f"no bank warehouse project: set {PROJECT_ENV} or run from a folder holding {MARKER} (none in {here} or above)"
    )


def project_path(*parts: str) -> Path:
    """A path inside the project directory, e.g. project_path("data", "delta")."""
    return project_dir().joinpath(*parts)
