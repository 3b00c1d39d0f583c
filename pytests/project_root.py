"""The project directory the tests work on, found as the commands find it (warehouse/project.py): the nearest
folder above the tests holding dbt_project.yml, or $BANKWH_PROJECT_DIR."""

from pathlib import Path

from warehouse.project import project_dir

PROJECT_ROOT = project_dir(Path(__file__).parent)
