"""docker-compose.yml is a valid Compose file: checked against the Compose Specification's JSON Schema.

The cross-references between services (volumes, depends_on, environment) are checked in test_flow.py; this file
catches what a compose binary would reject at `docker compose config` time: unknown keys, wrong types.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import yaml

from project_root import PROJECT_ROOT

SCHEMA = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return sorted(f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document))


def test_compose_file_matches_the_compose_specification():
    document = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    assert _errors(document) == []
    assert {"postgres", "prefect-server", "worker"} <= set(document["services"])


def test_schema_validation_rejects_what_compose_would_reject():
    document = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    unknown_key = copy.deepcopy(document)
    unknown_key["services"]["postgres"]["restart_policy"] = "always"
    assert any("restart_policy" in e for e in _errors(unknown_key))

    wrong_type = copy.deepcopy(document)
    wrong_type["services"]["worker"]["depends_on"] = "postgres"
    assert _errors(wrong_type), "depends_on must be a list or a mapping"

    bad_healthcheck = copy.deepcopy(document)
    bad_healthcheck["services"]["postgres"]["healthcheck"]["retries"] = "ten"
    assert any("retries" in e for e in _errors(bad_healthcheck))
