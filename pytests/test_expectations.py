"""The project's expectation tests (macros/tests/expectations.sql) give dbt-expectations' verdicts.

The fixture project pytests/data/expectations_project holds tiny literal models and one generic test per case,
built once against a real PostgreSQL; each case names its expected verdict in `config.meta`: `pass`, `fail`, or
`error` with the message the compile-time check must give. Further tests check that every test and every
argument has a passing and a failing case, that the warehouse's models use nothing of the macros but the
package's tests, and that the README's switch to the package stays true.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dbt_helpers import dbt_env, run_dbt

from project_root import PROJECT_ROOT
from warehouse import Warehouse

CASES_PROJECT = Path(__file__).parent / "data" / "expectations_project"
MACRO_FILES = sorted((PROJECT_ROOT / "macros" / "tests").glob("*.sql"))
# dbt-expectations' tests (README "Available Tests") that the project provides
PACKAGE_TESTS = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_pair_values_A_to_be_greater_than_B",
    "expect_compound_columns_to_be_unique",
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal_other_table",
    "expect_row_values_to_have_recent_data",
}
VERDICTS = ("pass", "fail", "error")


def _cases() -> dict[str, dict]:
    """Every generic test of the fixture project: name -> test, arguments, expected verdict (and message)."""
    cases: dict[str, dict] = {}
    for path in sorted((CASES_PROJECT / "models").glob("*.yml")):
        for model in yaml.safe_load(path.read_text())["models"]:
            tests = list(model.get("data_tests", []))
            for column in model.get("columns", []):
                tests += column.get("data_tests", [])
            for test in tests:
                ((kind, spec),) = test.items()
                assert spec["name"] not in cases, spec["name"]
                cases[spec["name"]] = {"test": kind, "arguments": spec.get("arguments", {}), **spec["config"]["meta"]}
    return cases


CASES = _cases()


def _signatures() -> dict[str, list[str]]:
    """Test name -> arguments of every generic test the macro files define (model and column_name left out)."""
    signatures = {}
    for path in MACRO_FILES:
        for name, params in re.findall(r"{%-?\s*test\s+(\w+)\((.*?)\)\s*-?%}", path.read_text(), re.S):
            names = [p.split("=")[0].strip() for p in params.split(",")]
            signatures[name] = [n for n in names if n not in ("model", "column_name")]
    return signatures


@pytest.fixture(scope="module")
def verdicts(server: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """One `dbt build` of the fixture project in a database of its own: test name -> (status, message)."""
    from dbt.cli.main import dbtRunner

    name = f"bankwh_expect_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    work = tmp_path_factory.mktemp("expectations")
    try:
        with dbt_env(server.with_database(name)):
            result = dbtRunner().invoke(
                [
                    "build",
                    "--project-dir",
                    str(CASES_PROJECT),
                    "--profiles-dir",
                    str(PROJECT_ROOT),
                    "--target-path",
                    str(work / "target"),
                    "--log-path",
                    str(work / "logs"),
                    "--threads",
                    "4",
                ]
            )
        assert result.exception is None, result.exception
        run_results = json.loads((work / "target" / "run_results.json").read_text())
        statuses = {}
        for r in run_results["results"]:
            kind, _project, node_name = r["unique_id"].split(".")[:3]
            if kind == "model":
                assert r["status"] == "success", (node_name, r["message"])
            else:
                statuses[node_name] = (r["status"], r["message"] or "")
        yield statuses
    finally:
        if not os.environ.get("BANKWH_TEST_KEEP_DB"):
            with server.cursor() as cur:
                cur.execute(f'drop database if exists "{name}" with (force)')


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_verdict(verdicts: dict[str, tuple[str, str]], name: str) -> None:
    case = CASES[name]
    status, message = verdicts[name]
    assert status == case["expect"], message
    if case["expect"] == "error":
        assert case["message"] in message


def test_every_test_and_argument_has_a_passing_and_a_failing_case() -> None:
    """The cases cover each test of the macro files, and each of its arguments, with a pass and a fail (and each
    test with at least one refused argument); the macro files define exactly the package's tests."""
    signatures = _signatures()
    assert set(signatures) == PACKAGE_TESTS
    assert {case["expect"] for case in CASES.values()} <= set(VERDICTS)
    missing = []
    for test, arguments in signatures.items():
        mine = [case for case in CASES.values() if case["test"] == test]
        for verdict in VERDICTS:
            if not any(case["expect"] == verdict for case in mine):
                missing.append(f"{test}: no {verdict} case")
        for argument in arguments:
            for verdict in ("pass", "fail"):
                if not any(case["expect"] == verdict and argument in case["arguments"] for case in mine):
                    missing.append(f"{test}.{argument}: no {verdict} case")
    assert missing == []


def test_models_use_only_the_package_tests_of_the_macro_files(server: Warehouse, tmp_path: Path) -> None:
    """On the parsed warehouse project: every macro of macros/tests/ that a node depends on is one of the
    package's tests (test_expect_*); the other macros there are private helpers (_expect_*) that only those
    tests call; no other macro of the project calls into the files. Deleting the files for the package then
    takes nothing else away."""
    parsed = run_dbt(server, ["parse"], tmp_path)
    assert parsed.success
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    in_files = {
        uid: macro
        for uid, macro in manifest["macros"].items()
        if macro["package_name"] == "bank_warehouse" and macro["original_file_path"].startswith("macros/tests/")
    }
    tests = {uid for uid, macro in in_files.items() if macro["name"].startswith("test_")}
    assert {in_files[uid]["name"] for uid in tests} == {f"test_{name}" for name in PACKAGE_TESTS}
    helpers = set(in_files) - tests
    assert all(in_files[uid]["name"].startswith("_expect_") for uid in helpers)

    breaches = []
    for section in ("nodes", "unit_tests", "exposures", "metrics", "semantic_models", "saved_queries"):
        for uid, node in manifest.get(section, {}).items():
            used = set(node.get("depends_on", {}).get("macros", [])) & set(in_files)
            breaches += [f"{uid} -> {m}" for m in sorted(used - tests)]
            if used & tests and node.get("resource_type") != "test":
                breaches.append(f"{uid} is not a test but uses {sorted(used & tests)}")
    called_by_tests: set[str] = set()
    for uid, macro in manifest["macros"].items():
        calls = set(macro["depends_on"]["macros"]) & set(in_files)
        if uid not in in_files:
            breaches += [f"{uid} -> {m}" for m in sorted(calls)]
        elif uid in tests:
            called_by_tests |= calls
    reached: set[str] = set()
    while called_by_tests - reached:  # helpers reached from the tests, directly or through another helper
        uid = (called_by_tests - reached).pop()
        reached.add(uid)
        called_by_tests |= set(in_files[uid]["depends_on"]["macros"]) & set(in_files)
    breaches += [f"{uid} is called by no test" for uid in sorted(helpers - called_by_tests)]
    assert breaches == []
    used_tests = {
        node["test_metadata"]["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node.get("test_metadata")
    }
    assert used_tests >= PACKAGE_TESTS, "a test of the macro files is defined and never used"


def _readme_section() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    start = readme.index("### Expectation tests")
    end = readme.find("\n#", start + 1)
    return readme[start : end if end != -1 else None]


def test_readme_lists_the_tests_and_a_switch_that_rewrites_every_use() -> None:
    """The README names exactly the provided tests, both package coordinates, and a rename command that turns
    every use in the models' yml into the package's prefixed name, and nothing else."""
    section = _readme_section()
    assert set(re.findall(r"`(expect_\w+)`", section)) == PACKAGE_TESTS
    assert "calogica/dbt_expectations" in section and "metaplane/dbt_expectations" in section
    assert "packages.yml" in section
    for path in MACRO_FILES:
        assert str(path.relative_to(PROJECT_ROOT)) in section
    (sed,) = re.findall(r"sed -i -E '(s/.+?/.+?/)'", section)
    _, pattern, replacement, _ = sed.split("/")
    renamed = 0
    for path in sorted((PROJECT_ROOT / "models").rglob("*.yml")):
        before = path.read_text()
        after = re.sub(pattern, replacement.replace(r"\1", r"\g<1>"), before, flags=re.M)
        renamed += len(re.findall(r"dbt_expectations\.expect_", after))
        assert _rename_keys(yaml.safe_load(before)) == yaml.safe_load(after), path
        assert re.search(r"(?<!dbt_expectations\.)\bexpect_\w+:", after) is None, path
    assert renamed > 0


def _rename_keys(value: object) -> object:
    """The YAML value with every expect_* mapping key prefixed as the package's tests are named."""
    if isinstance(value, dict):
        return {
            (f"dbt_expectations.{k}" if isinstance(k, str) and k.startswith("expect_") else k): _rename_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rename_keys(v) for v in value]
    return value
