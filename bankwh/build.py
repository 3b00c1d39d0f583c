"""`bankwh build` and `bankwh docs`: the dbt project with the warehouse's connection and the project's defaults.

dbt runs in-process (dbtRunner), so it sees the same PostgreSQL as every other command: the PG* variables of
`warehouse.resolve()` are exported before the call and profiles.yml reads them.
"""

from __future__ import annotations

import argparse
import os

import warehouse
from bankwh.one_writer import add_wait_option, one_writer
from orchestration import privacy
from publishing import publish
from warehouse.project import project_dir

DEFAULT_THREADS = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser(
        "build",
        help="build and test the warehouse with dbt (seeds, snapshots, models, tests)",
        description=(
            "Run `dbt build` on the project directory against the warehouse database: seeds, "
            "snapshots, staging/intermediate/marts models and every test, in dependency order. The marts go to "
            "schema marts_dev (or $BANKWH_MARTS_SCHEMA): a build never changes what readers see; `bankwh run` "
            "publishes a night. Any other dbt option goes after `--`, e.g. `bankwh build --select marts+ -- "
            "--fail-fast`. The build holds the nightly run's lock: while the night or another writing command "
            "runs, it waits (or, with --no-wait, is refused)."
        ),
    )
    build.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="dbt threads (default: %(default)s)")
    build.add_argument("-s", "--select", nargs="+", default=None, help="dbt node selection (e.g. marts+)")
    build.add_argument("--exclude", nargs="+", default=None, help="dbt nodes to leave out")
    build.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")
    build.add_argument("--vars", default=None, help="dbt vars as YAML, e.g. '{late_arrival_lookback_days: 3}'")
    add_wait_option(build)
    build.add_argument("dbt_args", nargs="*", metavar="-- DBT_ARG", help="further dbt arguments, after --")
    build.set_defaults(func=_build)

    docs = subparsers.add_parser(
        "docs",
        help="generate or serve the dbt documentation site",
        description="`generate` writes the documentation site (catalog of every model, column, source and seed) "
        "into target/, the marts as the published night shows them; `serve` serves it on localhost.",
    )
    actions = docs.add_subparsers(dest="action", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate",
        help="write the documentation site into target/ (reads the warehouse's catalog)",
        description="Run `dbt docs generate` against the warehouse: target/index.html, manifest and catalog. "
        "Other dbt options go after `--`.",
    )
    serve = actions.add_parser(
        "serve",
        help="serve the generated site on localhost",
        description="Run `dbt docs serve` on the site written by `bankwh docs generate`. Other dbt options go "
        "after `--`.",
    )
    serve.add_argument("--port", type=int, default=8080, help="port to serve on (default: %(default)s)")
    for sub in (generate, serve):
        # "*" and not REMAINDER: a REMAINDER positional would swallow `--help` and run dbt instead of helping
        sub.add_argument("dbt_args", nargs="*", metavar="-- DBT_ARG", help="further dbt arguments, after --")
        sub.set_defaults(func=_docs)


def project_args() -> list[str]:
    """Where the dbt project and its profile live (the project directory), whatever the working directory below it."""
    home = str(project_dir())
    return ["--project-dir", home, "--profiles-dir", home]


def invoke(args: list[str]) -> int:
    """Run one dbt command against the resolved warehouse; 0 when it succeeded, 1 when a node failed."""
    from dbt.cli.main import dbtRunner

    wh = warehouse.resolve()
    warehouse.apply_env(wh)
    print(f"dbt {' '.join(args)} on {wh.host}:{wh.port}/{wh.database}", flush=True)
    with privacy.key_for_dbt():  # the pseudonym key as a session setting, never in dbt's files
        result = dbtRunner().invoke([*args, *project_args()])
    if result.exception is not None:
        raise RuntimeError(f"dbt {args[0]} could not run: {result.exception}")
    return 0 if result.success else 1


def _extra(args: argparse.Namespace) -> list[str]:
    return [a for a in args.dbt_args if a != "--"]


def build_args(args: argparse.Namespace) -> list[str]:
    """The dbt command line for `bankwh build` (project defaults first, the user's choices after)."""
    cli = ["build", "--threads", str(args.threads)]
    if args.select:
        cli += ["--select", *args.select]
    if args.exclude:
        cli += ["--exclude", *args.exclude]
    if args.full_refresh:
        cli.append("--full-refresh")
    if args.vars:
        cli += ["--vars", args.vars]
    return [*cli, *_extra(args)]


def _build(args: argparse.Namespace) -> int:
    with one_writer(warehouse.resolve(), args, "build"):
        return invoke(build_args(args))


def _docs(args: argparse.Namespace) -> int:
    if args.action == "generate" and not os.environ.get(publish.SCHEMA_ENV):
        # the docs describe the marts readers see: the catalog is read from the published night's schema
        with warehouse.resolve().cursor() as cur:
            published = publish.last_published(cur)
        if published is not None:
            os.environ[publish.SCHEMA_ENV] = published.schema
    if args.action == "serve":
        return invoke(["docs", "serve", "--port", str(args.port), *_extra(args)])
    return invoke(["docs", "generate", *_extra(args)])
