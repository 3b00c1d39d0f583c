"""Personal data: classified in dbt, pseudonymised with a key nobody writes down, never published in clear.

- Every mart column carries `meta.pii` (direct_identifier, quasi_identifier, free_text, pseudonym, none), and so does
  every column of the staging and intermediate models that hold personal data; no direct identifier or free text
  reaches a mart, a pseudonym column is computed by the pseudonym macro, and no mart column reuses the name of an
  upstream direct identifier (the manifest rule, on `dbt parse`, with a planted breach of each kind).
- On the built fixture bank: no mart and no Delta table holds a value of the landing files' names, IBANs,
  counterparty IBANs, postal codes, e-mail addresses, phone numbers, streets, national ids, survey comments or birth
  dates, nor their unkeyed SHA-256 or MD5 (a dictionary attack); the published pseudonyms are HMAC-SHA256 with the
  night's key, the same on another night with the same key and all different with a new key; the key is in none of
  dbt's artifacts or logs; a build without a key stops before any model; the Delta files are not world-readable.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from dbt_helpers import BuiltWarehouse, query, run_dbt

from orchestration import privacy
from project_root import PROJECT_ROOT

PII_CLASSES = {"direct_identifier", "quasi_identifier", "free_text", "pseudonym", "none"}
NOT_IN_MARTS = {"direct_identifier", "free_text"}
PSEUDONYM_SQL = r"pseudonym\([^\n]*\)[^\n]*\bas\s+{column}\b"

#: Landing-file columns whose values must never be readable in a mart or a Delta table.
CLEAR_COLUMNS = {
    "first_name",
    "last_name",
    "national_id",
    "email",
    "phone",
    "street",
    "postal_code",
    "iban",
    "counterparty_iban",
    "comment",
}


def _layer(node: dict) -> str:
    return node["original_file_path"].split("/")[1]


def pii_violations(manifest: dict) -> list[str]:
    """The manifest rule: what breaks the personal-data classification, one line per breach."""
    models = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node.get("package_name") == "bank_warehouse"
    }
    found: list[str] = []
    upstream_clear: dict[str, str] = {}
    for node in models.values():
        classes = {name: (col.get("meta") or {}).get("pii") for name, col in node["columns"].items()}
        for name, cls in classes.items():
            if cls is not None and cls not in PII_CLASSES:
                found.append(f"{node['name']}.{name}: unknown pii class {cls!r}")
        if _layer(node) != "marts":
            if any(cls not in (None, "none") for cls in classes.values()):
                found += [f"{node['name']}.{n}: not classified (the model holds personal data)" for n, c in
                          classes.items() if c is None]  # fmt: skip
            for n, c in classes.items():
                if c in NOT_IN_MARTS:
                    upstream_clear[n] = min(upstream_clear.get(n, "~"), f"{node['name']}.{n}")
    for node in models.values():
        if _layer(node) != "marts":
            continue
        for name, col in node["columns"].items():
            cls = (col.get("meta") or {}).get("pii")
            where = f"{node['name']}.{name}"
            if cls is None:
                found.append(f"{where}: no meta.pii")
            elif cls in NOT_IN_MARTS:
                found.append(f"{where}: {cls} in a mart")
            elif cls == "pseudonym" and not re.search(PSEUDONYM_SQL.format(column=re.escape(name)), node["raw_code"]):
                found.append(f"{where}: a pseudonym not computed by the pseudonym macro")
            if name in upstream_clear:
                found.append(f"{where}: same name as the clear {upstream_clear[name]}")
    return found


@pytest.fixture(scope="module")
def parsed_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """manifest.json of `dbt parse`: the project's definitions, without a database."""
    from dbt.cli.main import dbtRunner

    work = tmp_path_factory.mktemp("privacy_parse")
    args = ["parse", "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    result = dbtRunner().invoke([*args, "--target-path", str(work / "target"), "--log-path", str(work / "logs")])
    assert result.success, result.exception
    return json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))


def test_every_mart_column_is_classified_and_none_is_personal_in_clear(parsed_manifest: dict) -> None:
    assert pii_violations(parsed_manifest) == []
    marts = [n for n in parsed_manifest["nodes"].values() if n["resource_type"] == "model" and _layer(n) == "marts"]
    pseudonyms = {
        f"{n['name']}.{c}" for n in marts for c, col in n["columns"].items() if col["meta"]["pii"] == "pseudonym"
    }
    assert pseudonyms == {
        "dim_accounts.iban_pseudonym",
        "fact_transactions.counterparty_iban_pseudonym",
        "fact_transactions.counterparty_account_pseudonym",
        "dim_standing_orders.recipient_account_pseudonym",
    }
    staging = parsed_manifest["nodes"]["model.bank_warehouse.stg_core_banking__clients"]["columns"]
    assert {staging[c]["meta"]["pii"] for c in ("first_name", "last_name", "email", "iban") if c in staging} == {
        "direct_identifier"
    }


def test_the_manifest_rule_catches_each_breach(parsed_manifest: dict) -> None:
    manifest = copy.deepcopy(parsed_manifest)
    nodes = manifest["nodes"]
    model = "model.bank_warehouse.{}".format
    del nodes[model("fact_loans")]["columns"]["principal"]["meta"]["pii"]
    nodes[model("dim_clients")]["columns"]["city"]["meta"]["pii"] = "direct_identifier"
    nodes[model("dim_satisfaction")]["columns"]["channel"]["meta"]["pii"] = "free_text"
    nodes[model("dim_cards")]["columns"]["card_type"]["meta"]["pii"] = "secret"
    # a pseudonym column computed some other way, and a clear IBAN published as `none` under its own name
    accounts = nodes[model("dim_accounts")]
    accounts["raw_code"] = accounts["raw_code"].replace("{{ pseudonym('iban') }}", "md5(iban)")
    accounts["columns"]["iban"] = {"name": "iban", "meta": {"pii": "none"}}
    nodes[model("stg_bank_api__survey_responses")]["columns"]["channel"]["meta"] = {}
    assert sorted(pii_violations(manifest)) == sorted(
        [
            "fact_loans.principal: no meta.pii",
            "dim_clients.city: direct_identifier in a mart",
            "dim_satisfaction.channel: free_text in a mart",
            "dim_cards.card_type: unknown pii class 'secret'",
            "dim_accounts.iban_pseudonym: a pseudonym not computed by the pseudonym macro",
            "dim_accounts.iban: same name as the clear int_account_versions_deduplicated.iban",
            "stg_bank_api__survey_responses.channel: not classified (the model holds personal data)",
        ]
    ), pii_violations(manifest)


def test_the_demo_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = privacy.resolve_key(environ={}, root=tmp_path)
    path = privacy.key_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64 and privacy.resolve_key(environ={}, root=tmp_path) == first
    path.chmod(0o644)
    assert privacy.resolve_key(environ={}, root=tmp_path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert privacy.resolve_key(environ={privacy.KEY_ENV: "from the environment"}, root=tmp_path) == (
        b"from the environment"
    )
    long_key = b"k" * 100  # longer than SHA-256's block: HMAC hashes it, and so does the session setting
    assert privacy.session_key(long_key) == hashlib.sha256(long_key).hexdigest()


# ---- on the built fixture bank -------------------------------------------------------------------------------

KEY_A = "night-key-A-" + "7f3c9a1e5b2d4c6f8a0b1c2d3e4f5a6b"
KEY_B = "rotated-key-B-" + "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"


def _clear_values(built: BuiltWarehouse) -> set[str]:
    """Every value of the personal landing-file columns (raw, as delivered, and as staging cleaned it). Birth dates
    apart: every date is some day of dim_dates, so they are checked against their own client (_births)."""
    values: set[str] = set()
    for schema, table, column in query(
        built.wh,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('raw_core_banking', 'raw_bank_api', 'staging') and column_name = any(%s)",
        (sorted(CLEAR_COLUMNS | {"survey_comment"}),),
    ):
        rows = query(built.wh, f'select distinct "{column}"::text from "{schema}"."{table}" where "{column}" <> \'\'')
        values |= {r[0].strip() for r in rows if r[0] and r[0].strip()}
    return values


def _births(built: BuiltWarehouse) -> dict[str, date]:
    rows = query(
        built.wh, "select client_id, birth_date from staging.stg_core_banking__clients where birth_date is not null"
    )
    return dict(rows)


def _mart_text(built: BuiltWarehouse, schema: str) -> dict[str, set[str]]:
    """{mart.column: its distinct values as text}, for every column of every mart that is not a number."""
    found: dict[str, set[str]] = {}
    for table, column in query(
        built.wh,
        "select table_name, column_name from information_schema.columns where table_schema = %s "
        "and data_type not in ('smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision', 'boolean')",
        (schema,),
    ):
        rows = query(built.wh, f'select distinct "{column}"::text from "{schema}"."{table}"')
        found[f"{table}.{column}"] = {r[0] for r in rows if r[0] is not None}
    return found


def _hashes(values: set[str]) -> set[str]:
    return {h(v.encode("utf-8")).hexdigest() for v in values for h in (hashlib.sha256, hashlib.md5)}


@pytest.fixture(scope="module")
def delta_root(built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built marts exported to Delta, over a root where an older export left a world-readable file."""
    from publishing.delta_export import ExportConfig, export_marts

    root = tmp_path_factory.mktemp("privacy_delta")
    stale = root / "_parity.jsonl"
    stale.write_text("", encoding="utf-8")
    stale.chmod(0o644)
    export_marts(built.wh, config=ExportConfig(root=root, schema="marts"), log=lambda *_: None)
    return root


def test_no_mart_and_no_delta_table_holds_personal_data_in_clear(built: BuiltWarehouse, delta_root: Path) -> None:
    from deltalake import DeltaTable

    clear = _clear_values(built)
    assert len(clear) > 40  # names, IBANs, comments... of the fixture bank
    assert {"DE", "FR"} & {v[:2] for v in clear}  # IBANs are among them
    hashed = _hashes(clear)
    published = _mart_text(built, "marts")
    leaks = {col: sorted(vals & clear)[:3] for col, vals in published.items() if vals & clear}
    assert leaks == {}
    attacked = {col: sorted(vals & hashed)[:3] for col, vals in published.items() if vals & hashed}
    assert attacked == {}, "an unkeyed hash of a clear value is published"
    births = _births(built)
    assert len(births) >= 5
    for table, column in query(
        built.wh,
        "select c.table_name, c.column_name from information_schema.columns as c join information_schema.columns as k "
        "on k.table_schema = c.table_schema and k.table_name = c.table_name and k.column_name = 'client_id' "
        "where c.table_schema = 'marts' and c.data_type in ('date', 'timestamp without time zone')",
    ):
        rows = query(built.wh, f'select client_id, "{column}"::date from marts."{table}" where "{column}" is not null')
        assert not [r for r in rows if births.get(r[0]) == r[1]], f"{table}.{column} holds clients' birth dates"
    tables = [p for p in delta_root.iterdir() if (p / "_delta_log").is_dir() and not p.name.startswith("_")]
    assert len(tables) == len({c.split(".")[0] for c in published})
    for table in tables:
        data = DeltaTable(str(table)).to_pyarrow_table()
        for name in data.column_names:
            values = {str(v) for v in data.column(name).to_pylist() if v is not None}
            assert not values & clear, f"{table.name}.{name} holds clear personal data"
            assert not values & hashed, f"{table.name}.{name} holds an unkeyed hash of personal data"
        if "client_id" in data.column_names:
            for row in data.to_pylist():
                dates = {v for v in row.values() if isinstance(v, date)}
                assert births.get(row["client_id"]) not in dates, f"{table.name} holds a client's birth date"


def test_delta_files_are_not_world_readable(delta_root: Path) -> None:
    paths = [delta_root, *delta_root.rglob("*")]
    assert any(p.suffix == ".parquet" for p in paths)
    wide = [str(p.relative_to(delta_root)) for p in paths if p.stat().st_mode & 0o007]
    assert wide == []
    modes = {stat.S_IMODE(p.stat().st_mode) for p in paths}
    assert modes == {0o640, 0o750}


@pytest.fixture(scope="module")
def nights(built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, Path]]]:
    """dim_accounts rebuilt from the built intermediate layer in schemas of its own: a night with key A, another
    night with key A, a night with key B; {night: (schema, its target/ and logs/)}."""
    schemas = {"a1": "privacy_night_a1", "a2": "privacy_night_a2", "b": "privacy_night_b"}
    keys = {"a1": KEY_A, "a2": KEY_A, "b": KEY_B}
    works: dict[str, Path] = {}
    saved = {k: os.environ.get(k) for k in (privacy.KEY_ENV, "BANKWH_MARTS_SCHEMA")}
    try:
        for night, schema in schemas.items():
            os.environ[privacy.KEY_ENV] = keys[night]
            os.environ["BANKWH_MARTS_SCHEMA"] = schema
            works[night] = tmp_path_factory.mktemp(f"privacy_{night}")
            run = run_dbt(built.wh, ["run", "--select", "dim_accounts"], works[night])
            assert run.success and run.failed() == [], run.failed()
    finally:  # the session's key and marts schema back before any test runs
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        yield {night: (schemas[night], works[night]) for night in schemas}
    finally:
        with built.wh.cursor() as cur:
            for schema in schemas.values():
                cur.execute(f'drop schema if exists "{schema}" cascade')


def _pseudonyms(built: BuiltWarehouse, schema: str) -> dict[str, str]:
    rows = query(
        built.wh, f'select account_key, iban_pseudonym from "{schema}".dim_accounts where iban_pseudonym is not null'
    )
    return dict(rows)


def test_pseudonyms_are_the_keyed_hmac_stable_with_the_key_new_with_a_new_key(
    built: BuiltWarehouse, nights: dict[str, tuple[str, Path]]
) -> None:
    a1, a2, b = (_pseudonyms(built, nights[n][0]) for n in ("a1", "a2", "b"))
    assert len(a1) >= 5 and a1 == a2  # a second night with the same key: the same pseudonyms
    assert a1.keys() == b.keys() and all(a1[k] != b[k] for k in a1)  # a new key: every pseudonym changes
    ibans = dict(
        query(
            built.wh,
            "select account_version_key, iban from intermediate.int_accounts_versioned where iban is not null",
        )
    )
    assert {k: privacy.pseudonym(ibans[k], KEY_A.encode()) for k in a1} == a1
    assert {k: privacy.pseudonym(ibans[k], KEY_B.encode()) for k in b} == b
    # the built warehouse's counterparties: the HMAC of a delivered counterparty IBAN with the session's key
    key = privacy.resolve_key()
    delivered = query(built.wh, "select distinct counterparty_iban from staging.stg_core_banking__transactions")
    expected = {privacy.pseudonym(r[0], key) for r in delivered if r[0]}
    published = query(
        built.wh,
        "select distinct counterparty_iban_pseudonym from marts.fact_transactions "
        "where counterparty_iban_pseudonym is not null",
    )
    assert len(published) >= 5 and {r[0] for r in published} <= expected


def test_the_key_is_in_no_artifact_and_no_log(nights: dict[str, tuple[str, Path]]) -> None:
    secrets = [KEY_A, KEY_B, KEY_A.encode().hex(), KEY_B.encode().hex()]
    scanned = 0
    for _schema, work in nights.values():
        for path in work.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                scanned += 1
                for secret in secrets:
                    assert secret.encode() not in content, f"the pseudonym key is written in {path.name}"
    names = {p.name for _schema, work in nights.values() for p in work.rglob("*")}
    assert {"manifest.json", "run_results.json", "dbt.log"} <= names and scanned > 10
    assert os.environ.get("PGOPTIONS", "").find(privacy.SETTING) < 0  # the key left the environment with dbt


def test_a_build_without_a_key_stops_before_any_model(built: BuiltWarehouse, tmp_path: Path) -> None:
    from dbt.cli.main import dbtRunner

    env = {**built.wh.env(), "BANKWH_MARTS_SCHEMA": "privacy_no_key"}
    saved = {k: os.environ.get(k) for k in [*env, "PGOPTIONS"]}
    os.environ.update(env)
    os.environ.pop("PGOPTIONS", None)
    try:
        args = ["run", "--select", "dim_accounts", "--project-dir", str(PROJECT_ROOT), "--profiles-dir"]
        args += [str(PROJECT_ROOT), "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
        result = dbtRunner().invoke(args)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert not result.success
    assert "no pseudonym key in this session" in (tmp_path / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert query(built.wh, "select to_regclass('privacy_no_key.dim_accounts')") == [(None,)]


# ---- erasure ----------------------------------------------------------------------------------------------------


def _raw_text(wh) -> set[str]:
    """Every text value of every raw table."""
    values: set[str] = set()
    for schema, table, column in query(
        wh,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('raw_core_banking', 'raw_bank_api') and data_type in ('text', 'character varying')",
    ):
        values |= {r[0] for r in query(wh, f'select distinct "{column}" from "{schema}"."{table}"') if r[0]}
    return values


def test_erase_overwrites_a_client_in_the_raw_layer_and_keeps_every_row(fresh_db) -> None:
    from dbt_helpers import _day, build_bank, load_raw

    from ingest.raw_tables import ensure_raw_tables

    load_raw(fresh_db, build_bank(), through=_day(6))
    ensure_raw_tables(fresh_db, log=lambda *_: None)
    ibans = [
        r[0] for r in query(fresh_db, "select distinct iban from raw_core_banking.accounts where client_id = 'C001'")
    ]
    assert len(ibans) == 2
    with fresh_db.cursor() as cur:  # C001 named in a quarantined line, as a counterparty, and in a comment
        cur.execute(
            "insert into raw_core_banking._quarantine (file_name, line_number, raw_line, reason, _loaded_at, "
            "_dlt_load_id) values ('clients/x.csv', 9, 'C001,Anna,Schmidt,oops', 'invalid_date', now(), '1'), "
            "('clients/x.csv', 10, 'C002,Louis,Martin,oops', 'invalid_date', now(), '1')"
        )
        cur.execute(
            "update raw_core_banking.transactions set counterparty_iban = %s where transaction_id = "
            "(select min(transaction_id) from raw_core_banking.transactions)",
            (ibans[0],),
        )
        cur.execute("update raw_bank_api.survey_responses set comment = 'Anna here, call me' where client_id = 'C001'")
    counts = {t: query(fresh_db, f"select count(*) from raw_core_banking.{t}")[0] for t in ("clients", "accounts")}
    unique = {*ibans, "ID-C001", "anna@example.org", "C001,Anna,Schmidt,oops", "Anna here, call me"}
    assert unique <= _raw_text(fresh_db)

    env = {**os.environ, **fresh_db.env(), "BANKWH_PROJECT_DIR": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "bankwh", "erase", "--raw-only", "--client-id", "C001"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 counterparty IBAN(s)" in done.stdout and "1 survey comment(s)" in done.stdout
    assert "1 quarantined line(s)" in done.stdout and "bankwh run --full-refresh" in done.stdout

    assert not unique & _raw_text(fresh_db)
    assert "C002,Louis,Martin,oops" in _raw_text(fresh_db)  # another client's line is left alone
    clients = query(
        fresh_db,
        "select distinct first_name, last_name, birth_date, phone, street, postal_code, city "
        "from raw_core_banking.clients where client_id = 'C001'",
    )
    assert clients == [("erased", "erased", None, None, None, None, None)]
    assert {t: query(fresh_db, f"select count(*) from raw_core_banking.{t}")[0] for t in counts} == counts

    command[-1] = "C999"
    unknown = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 1 and unknown.stderr.strip().splitlines() == [
        "bankwh erase: error: no client 'C999' in raw_core_banking.clients: nothing erased"
    ]
