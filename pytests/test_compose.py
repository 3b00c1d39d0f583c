"""docker-compose.yml starts: a valid Compose file whose services run commands the image has, on the paths they read.

No container engine runs here, so nothing is built or started. Instead:
- the file is checked against the Compose Specification's JSON Schema (unknown keys, wrong types);
- Debian's `docker-compose config` interpolates it with the settings of .env.example, and refuses it while a password
  is missing (there is no default password);
- every service on the project's image runs an entry point of that image (pyproject's [project.scripts], `prefect`,
  `dbt`), with sub-commands and options those programs accept, and nothing is installed at start;
- every path a service reads or writes is a mount of that service, shared with the service that writes it;
- the worker reaches the warehouse, the Prefect server and the bank API by their service names, and the dashboard
  connects as the analyst role.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
import yaml

from bankwh import cli
from project_root import PROJECT_ROOT
from warehouse import roles

SCHEMA = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())
COMPOSE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
#: The project directory inside the image (Dockerfile: WORKDIR, BANKWH_PROJECT_DIR).
HOME = PurePosixPath("/opt/bankwh")
SERVICES = {"postgres", "prefect-server", "worker", "bank-api", "docs", "dashboard", "demo-bank"}


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return sorted(f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document))


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#"))
    return {key.strip(): value for key, value in pairs}


def _filled_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """.env.example with every empty value (the secrets) set to a random one, as a user's .env would be."""
    values = {key: value or secrets.token_hex(8) for key, value in _env_example().items()}
    path = tmp_path / ".env"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path, values


def _compose_config(env_file: Path, *extra: str) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose") or "/usr/bin/docker-compose"
    if not Path(binary).exists():
        pytest.fail("docker-compose not found: install Debian's docker-compose package (make system-packages)")
    return subprocess.run(
        [binary, "--project-directory", str(PROJECT_ROOT), "-f", str(COMPOSE), "--env-file", str(env_file),
         *extra, "config"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, str]]:
    """The file as `docker-compose config` resolves it with a filled-in .env (every profile), and that .env."""
    env_file, values = _filled_env(tmp_path_factory.mktemp("compose"))
    done = _compose_config(env_file, "--profile", "demo")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout), values


def _image_services(config: dict) -> dict[str, dict]:
    """The services that run the project's image (built from the Dockerfile)."""
    return {name: s for name, s in config["services"].items() if "build" in s}


def _commands(service: dict) -> list[list[str]]:
    """Each program a service's command runs: a list as it is, or each step of an `sh -c` script."""
    command = service.get("command")
    if isinstance(command, str):
        command = shlex.split(command)
    if command[:2] == ["sh", "-c"]:
        steps = re.split(r"&&|\|\||;", command[2])
        command_lists = [shlex.split(step) for step in steps if step.strip()]
        return [argv[1:] if argv[0] == "exec" else argv for argv in command_lists]
    return [command]


def _entry_points() -> set[str]:
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return set(scripts) | {"prefect", "dbt"}


def _mounts(service: dict) -> dict[PurePosixPath, str]:
    """Mount target in the container -> volume name or host path."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        mounts[PurePosixPath(target)] = source
    return mounts


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _reads(argv: list[str], env: dict[str, str]) -> set[PurePosixPath]:
    """The folders a command reads or writes outside the image, from its own arguments and settings."""
    if argv[:3] == ["prefect", "worker", "start"]:
        # the nightly flow (orchestration/flows.py): landing files, Delta tables and reports under the project
        # directory, the Czech files where BANKWH_BERKA_DIR says
        home = PurePosixPath(env["BANKWH_PROJECT_DIR"]) if "BANKWH_PROJECT_DIR" in env else HOME
        return {home / "data/raw", home / "data/delta", home / "data/reports", PurePosixPath(env["BANKWH_BERKA_DIR"])}
    if argv[:3] == ["bankwh", "api", "serve"]:  # bank_sim/api_cli.py: DATA/raw/surveys and DATA/api
        data = PurePosixPath(_option(argv, "--data"))
        return {data / "raw/surveys", data / "api"}
    if argv[:2] == ["bankwh", "generate"]:  # bank_sim/cli.py: the landing folder and the API's data beside it
        out = PurePosixPath(_option(argv, "--out"))
        return {out, out.parent / "api"}
    return set()


def _mounted(path: PurePosixPath, mounts: dict[PurePosixPath, str]) -> str | None:
    for target, source in mounts.items():
        if path == target or target in path.parents:
            return source
    return None


# --- the file against the Compose Specification -----------------------------------------------------------------


def test_compose_file_matches_the_compose_specification():
    document = yaml.safe_load(COMPOSE.read_text())
    assert _errors(document) == []
    assert set(document["services"]) == SERVICES


def test_schema_validation_rejects_what_compose_would_reject():
    document = yaml.safe_load(COMPOSE.read_text())
    unknown_key = copy.deepcopy(document)
    unknown_key["services"]["postgres"]["restart_policy"] = "always"
    assert any("restart_policy" in e for e in _errors(unknown_key))

    wrong_type = copy.deepcopy(document)
    wrong_type["services"]["worker"]["depends_on"] = "postgres"
    assert _errors(wrong_type), "depends_on must be a list or a mapping"

    bad_healthcheck = copy.deepcopy(document)
    bad_healthcheck["services"]["postgres"]["healthcheck"]["retries"] = "ten"
    assert any("retries" in e for e in _errors(bad_healthcheck))


# --- settings: .env, no default password ----------------------------------------------------------------------------


def test_every_setting_is_in_env_example_and_no_secret_has_a_default():
    text = COMPOSE.read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    assert used <= set(_env_example()), f"not in .env.example: {sorted(used - set(_env_example()))}"
    secret = re.compile(r"PASSWORD|TOKEN")
    defaulted = re.findall(r"\$\{(\w+):?-", text)
    assert [name for name in defaulted if secret.search(name)] == []
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert {name for name in used if secret.search(name)} <= required
    # one password per database role, the analyst's used by the dashboard
    passwords = {roles.password_variable(role) for role in roles.ROLES}
    assert passwords <= set(_env_example())
    assert all(_env_example()[name] == "" for name in passwords | {"WAREHOUSE_PASSWORD", "BANKWH_API_TOKEN"})


def test_compose_refuses_to_start_while_a_password_is_missing(tmp_path):
    done = _compose_config(ENV_EXAMPLE)  # as shipped: every secret empty
    assert done.returncode != 0
    assert "set WAREHOUSE_PASSWORD in .env" in done.stderr or "PASSWORD" in done.stderr
    env_file, values = _filled_env(tmp_path)
    for name in ("WAREHOUSE_PASSWORD", "BANKWH_LOADER_PASSWORD", "BANKWH_ANALYST_PASSWORD", "BANKWH_API_TOKEN"):
        partial = tmp_path / f"{name}.env"
        partial.write_text("".join(f"{k}={'' if k == name else v}\n" for k, v in values.items()))
        refused = _compose_config(partial)
        assert refused.returncode != 0 and f"set {name} in .env" in refused.stderr, (name, refused.stderr)
    assert _compose_config(env_file).returncode == 0


# --- commands: entry points of the image, nothing installed at start -----------------------------------------------


def test_every_service_runs_an_entry_point_of_the_image(resolved):
    config, _ = resolved
    services = config["services"]
    assert set(services) == SERVICES
    images = {s["image"] for s in _image_services(config).values()}
    assert len(images) == 1, "one image for every service of the project"
    assert set(_image_services(config)) == SERVICES - {"postgres"}
    assert "command" not in services["postgres"] and services["postgres"]["image"].startswith("postgres:18")

    entry_points = _entry_points()
    parser = cli.build_parser()
    prefect_commands = set()
    for name, service in _image_services(config).items():
        for argv in _commands(service):
            assert argv[0] in entry_points, f"{name} runs {argv[0]}, not an entry point of the image"
            assert "pip" not in argv and "install" not in argv, f"{name} installs at start: {argv}"
            if argv[0] == "bankwh":
                parser.parse_args(argv[1:])  # argparse exits (SystemExit) on an unknown command or option
            elif argv[0] == "prefect":
                prefect_commands.add(tuple(argv))

    # prefect: each sub-command exists and takes the options given (its own --help lists them)
    prefect = Path(sys.executable).with_name("prefect")
    helps = {}
    for argv in prefect_commands:
        words = [a for a in argv[1:] if not a.startswith("-")]
        sub = words[:1] if words[0] == "deploy" else words[:2]  # `prefect deploy` is one level deep, the rest two
        command = [str(prefect), *sub, "--help"]
        helps[argv] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for argv, process in helps.items():
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, f"prefect {' '.join(argv[1:3])}: {out[-500:]}"
        for option in (a for a in argv if a.startswith("--")):
            assert option in out, f"prefect {' '.join(argv[1:3])} has no option {option}"


def test_worker_deploys_the_nightly_deployment_then_polls_its_pool(resolved):
    from bankwh import serve

    config, _ = resolved
    deployment = serve.load_deployment()
    pool = deployment["work_pool"]["name"]
    steps = _commands(config["services"]["worker"])
    assert [argv[:3] for argv in steps] == [
        ["bankwh", "db", "roles"],  # the least-privilege roles exist, with .env's passwords, before any night
        ["prefect", "work-pool", "create"],
        ["prefect", "--no-prompt", "deploy"],
        ["prefect", "worker", "start"],
    ]
    _, create, deploy, worker = steps
    assert create[3] == pool and _option(create, "--type") == "process"
    assert _option(deploy, "--name") == deployment["name"]
    assert _option(worker, "--pool") == pool


# --- the network: services reach each other by name -----------------------------------------------------------------


def test_services_reference_each_other_consistently(resolved):
    config, values = resolved
    services = config["services"]
    for name, service in services.items():
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if cond.get("condition") == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} needs a healthcheck for {name}"
        for source in _mounts(service).values():
            if not source.startswith("/"):
                assert source in config["volumes"], f"{name} uses undeclared volume {source}"

    db_env, worker_env = services["postgres"]["environment"], services["worker"]["environment"]
    assert worker_env["PGHOST"] == "postgres"
    assert worker_env["PGUSER"] == db_env["POSTGRES_USER"]
    assert worker_env["PGPASSWORD"] == db_env["POSTGRES_PASSWORD"] == values["WAREHOUSE_PASSWORD"]
    assert worker_env["PGDATABASE"] == db_env["POSTGRES_DB"]
    assert set(services["worker"]["depends_on"]) == {"postgres", "prefect-server", "bank-api"}

    server_port = _option(_commands(services["prefect-server"])[0], "--port")
    assert worker_env["PREFECT_API_URL"] == f"http://prefect-server:{server_port}/api"
    api_port = _option(_commands(services["bank-api"])[0], "--port")
    assert worker_env["BANKWH_API_URL"] == f"http://bank-api:{api_port}"
    assert worker_env["BANKWH_API_TOKEN"] == services["bank-api"]["environment"]["BANKWH_API_TOKEN"]

    # the admin creates the roles with the passwords of .env; the dashboard logs in as the analyst with its own
    for variable in map(roles.password_variable, roles.ROLES):
        assert worker_env[variable] == values[variable]
    dashboard_env = services["dashboard"]["environment"]
    assert dashboard_env["PGUSER"] == roles.ANALYST
    assert dashboard_env["PGPASSWORD"] == values["BANKWH_ANALYST_PASSWORD"]
    assert dashboard_env["PGHOST"] == "postgres" and dashboard_env["PGDATABASE"] == db_env["POSTGRES_DB"]
    # published on loopback only
    for name, service in services.items():
        for port in service.get("ports", []):
            assert (port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]) == "127.0.0.1", name


# --- volumes: every path a service reads is mounted, and shared with its writer -------------------------------------


def test_every_path_a_service_reads_is_mounted(resolved):
    config, _ = resolved
    services = config["services"]
    where = {}
    for name, service in _image_services(config).items():
        mounts = _mounts(service)
        for argv in _commands(service):
            for path in _reads(argv, service.get("environment") or {}):
                source = _mounted(path, mounts)
                assert source is not None, f"{name} reads {path}, which is not mounted"
                where.setdefault(path, set()).add((name, source))

    landing = HOME / "data/raw"
    # the worker ingests the landing files the demo bank writes, and the API serves the surveys among them
    assert {s for _, s in where[landing]} == {"landing"}
    assert _mounted(HOME / "data/raw/surveys", _mounts(services["bank-api"])) == "landing"
    assert _mounted(HOME / "data/api", _mounts(services["bank-api"])) == _mounted(
        HOME / "data/api", _mounts(services["demo-bank"])
    )
    assert {s for _, s in where[HOME / "data/delta"]} == {"delta"}
    # the Czech bank's files: a host folder (the copy shipped with the project by default), read-only
    czech = services["worker"]["environment"]["BANKWH_BERKA_DIR"]
    host = Path(_mounted(PurePosixPath(czech), _mounts(services["worker"])))
    assert (host / "trans.asc.gz").exists() or (host / "trans.asc").exists()
    assert any(v.endswith(f"{czech}:ro") for v in yaml.safe_load(COMPOSE.read_text())["services"]["worker"]["volumes"])


# --- the image ------------------------------------------------------------------------------------------------------


def _dockerignored(relative: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = PurePosixPath(relative).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            ignored = not negate
    return ignored


def test_the_image_installs_the_locked_project_at_build_time_and_runs_unprivileged():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line and not line[0].isspace()
                    and not line.startswith("#")]  # fmt: skip
    assert instructions[0] == "FROM"
    assert "pip install -c constraints.txt" in dockerfile and "pip install --no-deps -c constraints.txt ." in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0"), "the services run as a user without privileges"
    assert re.search(r"BANKWH_PROJECT_DIR=" + str(HOME), dockerfile)

    # every named volume a service of the image writes is a folder the image creates for its user, so the volume
    # starts owned by that user and not by root
    created = {HOME / path for line in re.findall(r"mkdir -p ([^\n&\\]+)", dockerfile) for path in line.split()}
    assert re.search(r"chown -R bankwh:bankwh " + str(HOME), dockerfile)
    config = yaml.safe_load(COMPOSE.read_text())
    for name, service in _image_services(config).items():
        for target, source in _mounts(service).items():
            if source in config["volumes"]:
                assert target in created, f"{name}: the image does not create {target} for its user"

    patterns = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]  # fmt: skip
    for secret_or_local in (".env", ".venv/bin/python", ".warehouse/pg", "data/raw/x.csv", "target/manifest.json"):
        assert _dockerignored(secret_or_local, patterns), f"{secret_or_local} would be sent into the image"
    # what the services need inside the image: the dbt project, prefect.yaml, the flow's source, the Czech files
    needed = ["pyproject.toml", "constraints.txt", "README.md", "dbt_project.yml", "profiles.yml", "prefect.yaml",
              "models/marts/core/fact_transactions.sql", "macros", "seeds", "snapshots", "tests",
              "orchestration/flows.py", "dashboard/app.py", "data_sets/berka/trans.asc.gz"]  # fmt: skip
    for path in needed:
        assert (PROJECT_ROOT / path).exists(), path
        assert not _dockerignored(path, patterns), f"{path} is left out of the image"
