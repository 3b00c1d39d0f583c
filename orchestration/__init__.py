"""Orchestration of the bank warehouse: the warehouse connection, the `bankwh` CLI, Prefect flows and exports."""

from pathlib import Path

#: Root of the repository: dbt_project.yml, profiles.yml and data/ live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
