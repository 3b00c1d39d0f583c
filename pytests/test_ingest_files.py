"""Landing-file ingestion into a real PostgreSQL: line accounting, idempotence, drift, encodings, recovery."""

from __future__ import annotations

import codecs
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from ingest_helpers import client, header, txn, write_lines

from ingest.csv_lines import content_problem, decode_file, detect_encoding, other_delimiter, split_physical_lines
from ingest.files_pipeline import run_files_ingest
from project_root import PROJECT_ROOT

DAY1, DAY2 = "2025-01-03", "2025-01-04"


def ingest(wh, data_dir: Path, tmp_path: Path, **kwargs):
    return run_files_ingest(wh, data_dir, pipelines_dir=tmp_path / "pipelines", progress=False, **kwargs)


def query(wh, sql: str, params=()) -> list[tuple]:
    with wh.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def ledger(wh) -> dict[str, tuple]:
    rows = query(
        wh,
        "select file_name, lines_in, rows_loaded, rows_quarantined, encoding, new_columns, load_id, content_sha256 "
        "from raw_core_banking._file_loads",
    )
    return {r[0]: r[1:] for r in rows}


def raw_count(wh, table: str, file_name: str) -> int:
    return query(wh, f"select count(*) from raw_core_banking.{table} where _file_name = %s", (file_name,))[0][0]


def test_every_line_is_a_row_or_quarantined_with_its_reason(fresh_db, tmp_path):
    data = tmp_path / "raw"
    width = len(header("transactions").split(","))
    lines = [
        header("transactions"),
        txn(1, DAY1),  # 2
        txn(2, DAY1, merchant='"Shop, Inc"', description='"say ""hi"""'),  # 3: quoting
        txn(2, DAY1, merchant='"Shop, Inc"', description='"say ""hi"""'),  # 4: exact duplicate, kept
        txn(3, DAY1) + ",extra",  # 5: too many fields
        "T0000004,A00001",  # 6: too few fields
        txn(5, DAY1, merchant='"Unclosed'),  # 7: unclosed quote
        txn(6, DAY1, merchant="Bäckerei Schön"),  # 8: UTF-8 accents
        txn(7, DAY1, merchant="Caf").encode() + b"\xe9 broken",  # 9: not UTF-8 in a UTF-8 file
        "",  # 10: empty line
        txn(8, DAY1, merchant="Nul\x00Byte"),  # 11: NUL byte
        "," * (width - 1),  # 12: all fields empty (right count): a record of NULLs
        txn(9, DAY1, merchant='"a"b'),  # 13: text after a closing quote
        txn(10, DAY1),  # 14
    ]
    write_lines(data, "transactions", DAY1, lines)
    write_lines(data, "clients", DAY1, [header("clients"), client(1, DAY1), client(1, DAY1), client(2, DAY1)])

    summary = ingest(fresh_db, data, tmp_path)

    assert summary.errors == []
    name = f"transactions/{DAY1}.csv"
    expected_quarantine = {
        5: f"wrong field count: {width + 1} fields, header has {width}",
        6: f"wrong field count: 2 fields, header has {width}",
        7: "unclosed quote",
        9: "undecodable bytes: byte 0xe9",
        10: f"wrong field count: empty line, header has {width}",
        11: "NUL byte",
        13: "malformed quoting",
    }
    quarantined = query(
        fresh_db,
        "select line_number, reason, raw_line from raw_core_banking._quarantine where file_name = %s "
        "order by line_number",
        (name,),
    )
    assert [r[0] for r in quarantined] == sorted(expected_quarantine)
    for line_number, reason, raw_line in quarantined:
        assert reason.startswith(expected_quarantine[line_number]), (line_number, reason)
        delivered = lines[line_number - 1]
        if isinstance(delivered, str) and "\x00" not in delivered:
            assert raw_line == delivered  # the delivered text is kept for inspection
    raw_text = {r[0]: r[2] for r in quarantined}
    assert raw_text[9].endswith("card payment\\xe9 broken")  # undecodable bytes shown escaped
    assert raw_text[11] == lines[10].replace("\x00", "\\x00")

    raw_lines = [r[0] for r in query(fresh_db, "select _line_number from raw_core_banking.transactions order by 1")]
    assert raw_lines == [2, 3, 4, 8, 12, 14]
    assert ledger(fresh_db)[name][:4] == (13, 6, 7, "utf-8")
    # every data line is in exactly one place
    assert sorted(raw_lines + [r[0] for r in quarantined]) == list(range(2, len(lines) + 1))

    values = dict(
        (r[0], r[1:])
        for r in query(
            fresh_db,
            "select _line_number, merchant, description, counterparty_iban, transaction_id "
            "from raw_core_banking.transactions",
        )
    )
    assert values[3] == ("Shop, Inc", 'say "hi"', None, "T0000002")
    assert values[4] == values[3]
    assert values[8][0] == "Bäckerei Schön"
    assert values[12] == (None, None, None, None)

    assert raw_count(fresh_db, "clients", f"clients/{DAY1}.csv") == 3  # the duplicate client line is kept
    lineage = query(
        fresh_db,
        "select count(*), count(distinct t._dlt_load_id), min(t._dlt_load_id) = min(l.load_id), "
        "bool_and(t._loaded_at is not null) from raw_core_banking.transactions t "
        "join raw_core_banking._file_loads l on l.file_name = t._file_name",
    )[0]
    assert lineage == (6, 1, True, True)


def test_rerun_loads_nothing_and_a_late_file_loads_alone(fresh_db, tmp_path):
    data = tmp_path / "raw"
    write_lines(data, "transactions", DAY1, [header("transactions"), txn(1, DAY1), txn(2, DAY1)])
    write_lines(data, "clients", DAY1, [header("clients"), client(1, DAY1)])
    first = ingest(fresh_db, data, tmp_path)
    assert [f.file_name for f in first.loaded] == [f"clients/{DAY1}.csv", f"transactions/{DAY1}.csv"]
    before = ledger(fresh_db)
    loads_before = query(fresh_db, "select count(*) from raw_core_banking._dlt_loads")[0][0]

    again = ingest(fresh_db, data, tmp_path)
    assert again.loaded == [] and again.errors == [] and again.load_id is None
    assert len(again.with_status("unchanged")) == 2
    assert ledger(fresh_db) == before
    assert query(fresh_db, "select count(*) from raw_core_banking._dlt_loads")[0][0] == loads_before
    assert raw_count(fresh_db, "transactions", f"transactions/{DAY1}.csv") == 2

    # a new day arrives later (and a changed client version): only it is loaded
    write_lines(data, "transactions", DAY2, [header("transactions"), txn(3, DAY2), txn(4, DAY2), txn(5, DAY2)])
    write_lines(data, "clients", DAY2, [header("clients"), client(1, DAY2, city="Lyon")])
    late = ingest(fresh_db, data, tmp_path)
    assert sorted(f.file_name for f in late.loaded) == [f"clients/{DAY2}.csv", f"transactions/{DAY2}.csv"]
    after = ledger(fresh_db)
    assert {k: after[k] for k in before} == before  # earlier loads untouched
    assert after[f"transactions/{DAY2}.csv"][:3] == (3, 3, 0)
    assert after[f"transactions/{DAY2}.csv"][5] == late.load_id != before[f"transactions/{DAY1}.csv"][5]
    # both versions of client 1 are in raw, each from its own file (staging picks the latest)
    versions = query(fresh_db, "select _file_name, city from raw_core_banking.clients order by _file_name")
    assert versions == [(f"clients/{DAY1}.csv", "Paris"), (f"clients/{DAY2}.csv", "Lyon")]
    ids = query(
        fresh_db, "select _file_name, min(_dlt_load_id) from raw_core_banking.transactions group by 1 order by 1"
    )
    assert ids == [
        (f"transactions/{DAY1}.csv", before[f"transactions/{DAY1}.csv"][5]),
        (f"transactions/{DAY2}.csv", late.load_id),
    ]


def test_changed_redelivery_replaces_the_file_in_one_step(fresh_db, tmp_path, monkeypatch, capsys):
    """The same rule as the Czech files (test_berka): a file delivered again with another content replaces what
    the raw layer held for it (rows and quarantined lines), and its ledger row names the content it replaced."""
    data = tmp_path / "raw"
    name = f"transactions/{DAY1}.csv"
    path = write_lines(data, "transactions", DAY1, [header("transactions"), txn(1, DAY1), "broken"])
    ingest(fresh_db, data, tmp_path)
    old_sha, old_load = ledger(fresh_db)[name][6], ledger(fresh_db)[name][5]

    write_lines(data, "transactions", DAY1, [header("transactions"), txn(1, DAY1, amount="-99.00"), txn(2, DAY1)])
    write_lines(data, "transactions", DAY2, [header("transactions"), txn(3, DAY2)])
    import hashlib

    new_sha = hashlib.sha256(path.read_bytes()).hexdigest()

    # through the command line, as an operator sees it
    from bankwh import cli

    monkeypatch.setenv("PGDATABASE", fresh_db.database)
    rc = cli.main(["ingest", "--data", str(data), "--pipelines-dir", str(tmp_path / "pipelines"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "files: 1 loaded, 1 replaced, 0 quarantined, 0 unchanged" in out
    assert any(line.startswith(name) and "replaced" in line for line in out.splitlines()), out
    assert raw_count(fresh_db, "transactions", f"transactions/{DAY2}.csv") == 1
    rows = query(
        fresh_db,
        "select amount, _dlt_load_id <> %s from raw_core_banking.transactions where _file_name = %s "
        "order by _line_number",
        (old_load, name),
    )
    assert rows == [("-99.00", True), ("-12.50", True)]  # the new content only, none of the old load
    assert query(fresh_db, "select count(*) from raw_core_banking._quarantine where file_name = %s", (name,)) == [(0,)]
    book = query(
        fresh_db,
        "select content_sha256, replaced_sha256, lines_in, rows_loaded, rows_quarantined "
        "from raw_core_banking._file_loads where file_name = %s",
        (name,),
    )
    assert book == [(new_sha, old_sha, 2, 2, 0)]
    # an unchanged re-delivery is skipped
    again = ingest(fresh_db, data, tmp_path)
    assert {f.status for f in again.files} == {"unchanged"} and again.load_id is None


def test_extra_column_lands_and_is_reported_as_schema_change(fresh_db, tmp_path):
    data = tmp_path / "raw"
    write_lines(data, "transactions", DAY1, [header("transactions"), txn(1, DAY1)])
    ingest(fresh_db, data, tmp_path)
    write_lines(data, "transactions", DAY2, [header("transactions", extra=("batch_ref",)), txn(2, DAY2) + ",B-77"])

    summary = ingest(fresh_db, data, tmp_path)

    assert summary.errors == []
    assert summary.schema_changes == [f"transactions/{DAY2}.csv: new column(s) batch_ref"]
    assert ledger(fresh_db)[f"transactions/{DAY2}.csv"][4] == "batch_ref"
    assert ledger(fresh_db)[f"transactions/{DAY1}.csv"][4] is None
    rows = query(fresh_db, "select _file_name, batch_ref from raw_core_banking.transactions order by 1")
    assert rows == [(f"transactions/{DAY1}.csv", None), (f"transactions/{DAY2}.csv", "B-77")]


def columns_of(wh, table: str) -> list[tuple[str, str, str]]:
    """(name, type, nullable) of a raw table, in table order."""
    return query(
        wh,
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'raw_core_banking' and table_name = %s order by ordinal_position",
        (table,),
    )


LINEAGE_SHAPE = [
    ("_file_name", "character varying", "NO"),
    ("_line_number", "bigint", "NO"),
    ("_loaded_at", "timestamp with time zone", "NO"),
    ("_dlt_load_id", "character varying", "NO"),
]


def test_tables_no_file_delivered_exist_empty_in_dlt_shape_and_take_a_later_delivery(server, fresh_db, tmp_path):
    # a small bank: transactions and clients, every line clean, no fraud labels yet
    day1 = tmp_path / "day1"
    write_lines(day1, "transactions", DAY1, [header("transactions"), txn(1, DAY1), txn(2, DAY1)])
    write_lines(day1, "clients", DAY1, [header("clients"), client(1, DAY1)])
    assert ingest(fresh_db, day1, tmp_path).errors == []

    assert query(fresh_db, "select count(*) from raw_core_banking.fraud_labels")[0][0] == 0
    assert query(fresh_db, "select count(*) from raw_core_banking._quarantine")[0][0] == 0
    assert (
        columns_of(fresh_db, "fraud_labels")
        == [(name, "character varying", "YES") for name in ("transaction_id", "label", "fraud_type", "reported_on")]
        + LINEAGE_SHAPE
    )
    assert columns_of(fresh_db, "_quarantine") == [
        ("file_name", "character varying", "NO"),
        ("line_number", "bigint", "NO"),
        ("raw_line", "character varying", "NO"),
        ("reason", "character varying", "NO"),
        ("_loaded_at", "timestamp with time zone", "NO"),
        ("_dlt_load_id", "character varying", "NO"),
    ]
    for entity in ("products", "accounts", "loans", "loan_schedules", "loan_payments", "balances", "postings"):
        assert query(fresh_db, f"select count(*) from raw_core_banking.{entity}")[0][0] == 0, entity

    # the same tables as dlt creates them itself, in a database where the first delivery carried them
    delivered = tmp_path / "delivered"
    write_lines(delivered, "transactions", DAY1, [header("transactions"), txn(1, DAY1), "T0000009,A00001"])
    write_lines(delivered, "clients", DAY1, [header("clients"), client(1, DAY1)])
    write_lines(delivered, "fraud_labels", DAY1, [header("fraud_labels"), f"T0000001,1,card_fraud,{DAY1}"])
    other = f"{fresh_db.database}_dlt"
    with server.cursor() as cur:
        cur.execute(f'create database "{other}"')
    try:
        by_dlt = server.with_database(other)
        assert ingest(by_dlt, delivered, tmp_path / "other").errors == []
        assert query(by_dlt, "select count(*) from raw_core_banking._quarantine")[0][0] == 1
        for table in ("fraud_labels", "_quarantine", "transactions", "clients"):
            assert columns_of(fresh_db, table) == columns_of(by_dlt, table), table
    finally:
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{other}" with (force)')

    # the first real fraud labels load into the table created empty: rows, a quarantined line, a new column
    write_lines(
        day1,
        "fraud_labels",
        DAY2,
        [
            header("fraud_labels", extra=("batch_ref",)),
            f"T0000001,1,card_fraud,{DAY2},B-1",
            "T0000002,1",  # too few fields
            f"T0000002,0,,{DAY2},B-1",
        ],
    )
    later = ingest(fresh_db, day1, tmp_path)
    assert later.errors == [] and [f.file_name for f in later.loaded] == [f"fraud_labels/{DAY2}.csv"]
    rows = query(
        fresh_db,
        "select transaction_id, label, fraud_type, reported_on, batch_ref, _file_name, _line_number "
        "from raw_core_banking.fraud_labels order by _line_number",
    )
    name = f"fraud_labels/{DAY2}.csv"
    assert rows == [
        ("T0000001", "1", "card_fraud", DAY2, "B-1", name, 2),
        ("T0000002", "0", None, DAY2, "B-1", name, 4),
    ]
    assert query(fresh_db, "select file_name, line_number from raw_core_banking._quarantine") == [(name, 3)]
    assert ledger(fresh_db)[name][:5] == (3, 2, 1, "utf-8", "batch_ref")
    assert columns_of(fresh_db, "fraud_labels")[-1] == ("batch_ref", "character varying", "YES")


def api_shape(wh) -> list[tuple]:
    """Columns and indexes of the API's raw tables."""
    columns = query(
        wh,
        "select table_name, column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'raw_bank_api' and table_name in ('survey_responses', 'fx_rates') "
        "order by table_name, ordinal_position",
    )
    indexes = query(
        wh, "select indexdef from pg_indexes where schemaname = 'raw_bank_api' and tablename not like '%%dlt%%'"
    )
    return columns + sorted(indexes)


def test_api_tables_created_empty_match_dlt_and_take_the_first_load(server, fresh_db, tmp_path):
    from bank_sim.api import start_server, stop_server
    from ingest.api_pipeline import run_api_ingest
    from ingest.raw_tables import ensure_raw_tables

    surveys = tmp_path / "bank" / "raw" / "surveys"
    write_lines(surveys.parent, "surveys", DAY1, [header("surveys"), f"R1,C000001,{DAY1},app,9,5,fine,{DAY1}T10:00:00"])
    (tmp_path / "bank" / "api").mkdir()
    (tmp_path / "bank" / "api" / "fx_rates.csv").write_text(
        f"rate_date,currency,rate_per_eur,published_at\n{DAY1},USD,1.04,{DAY1}T16:00:00\n"
    )
    created = ensure_raw_tables(fresh_db, log=lambda _: None)  # as the nightly flow does before any ingest
    assert {"raw_bank_api.survey_responses", "raw_bank_api.fx_rates", "raw_core_banking.fraud_labels"} <= set(created)
    assert ensure_raw_tables(fresh_db, log=lambda _: None) == []  # nothing to do the second time
    other = f"{fresh_db.database}_dlt"
    with server.cursor() as cur:
        cur.execute(f'create database "{other}"')
    api = start_server(tmp_path / "bank")
    try:
        by_dlt = server.with_database(other)
        for wh in (fresh_db, by_dlt):
            result = run_api_ingest(wh, api[0].url, pipelines_dir=tmp_path / wh.database, log=lambda _: None)
            assert result["rows"] == {"survey_responses": 1, "fx_rates": 1}
        assert api_shape(fresh_db) == api_shape(by_dlt)
        assert any("_dlt_id" in row[0] for row in api_shape(fresh_db) if len(row) == 1)  # the unique row id
    finally:
        stop_server(*api)
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{other}" with (force)')
    assert query(fresh_db, "select response_id, nps_score from raw_bank_api.survey_responses") == [("R1", 9)]


def test_missing_mandatory_column_quarantines_that_file_whole(fresh_db, tmp_path):
    """A file that cannot be loaded is quarantined whole with its reason (every line of it in _quarantine, the
    ledger counts proving it), the other files load, and the next run does not read it again."""
    data = tmp_path / "raw"
    write_lines(data, "transactions", DAY1, [header("transactions"), txn(1, DAY1)])
    first = ingest(fresh_db, data, tmp_path)
    fields = txn(2, DAY2).split(",")
    bad = [header("transactions", drop=("amount",)), ",".join(fields[:4] + fields[5:]), "second line"]
    write_lines(data, "transactions", DAY2, bad)
    write_lines(data, "clients", DAY2, [header("clients"), client(1, DAY2)])
    write_lines(data, "accounts", DAY2, [header("accounts", drop=("account_id",)), ",".join(["C1"] + [""] * 9)])

    summary = ingest(fresh_db, data, tmp_path)

    assert summary.errors == []
    statuses = {f.file_name: (f.status, f.lines_in, f.rows, f.quarantined) for f in summary.files}
    assert statuses == {
        f"transactions/{DAY1}.csv": ("unchanged", 0, 0, 0),
        f"transactions/{DAY2}.csv": ("quarantined", 2, 0, 2),
        f"accounts/{DAY2}.csv": ("quarantined", 1, 0, 1),
        f"clients/{DAY2}.csv": ("loaded", 1, 1, 0),
    }
    txn_reason = next(q for q in summary.quarantined_files if q.startswith(f"transactions/{DAY2}.csv"))
    assert "mandatory column amount missing" in txn_reason
    assert any(q.startswith(f"accounts/{DAY2}.csv") and "account_id" in q for q in summary.quarantined_files)
    book = ledger(fresh_db)
    assert book[f"transactions/{DAY2}.csv"][:3] == (2, 0, 2)
    assert book[f"transactions/{DAY1}.csv"][5] == first.load_id  # earlier load untouched
    quarantined = query(
        fresh_db,
        "select line_number, raw_line, reason from raw_core_banking._quarantine where file_name = %s order by 1",
        (f"transactions/{DAY2}.csv",),
    )
    assert [(n, text) for n, text, _ in quarantined] == [(2, bad[1]), (3, "second line")]
    assert all("file quarantined whole" in reason and "amount" in reason for _, _, reason in quarantined)
    assert query(fresh_db, "select count(*), min(_file_name) from raw_core_banking.transactions")[0] == (
        1,
        f"transactions/{DAY1}.csv",
    )
    # the quarantined file is in the ledger: the next run skips it until a corrected content replaces it
    assert {f.status for f in ingest(fresh_db, data, tmp_path).files} == {"unchanged"}


def test_latin1_file_is_decoded_not_mojibake(fresh_db, tmp_path):
    data = tmp_path / "raw"
    names = ["Café de Flore", "Crêperie Bretonne", "Müller Bäckerei", "Señor Tapas"]
    lines = [header("transactions")] + [txn(i, DAY1, merchant=m) for i, m in enumerate(names)]
    write_lines(data, "transactions", DAY1, lines, encoding="latin-1")
    write_lines(data, "transactions", DAY2, [header("transactions"), txn(9, DAY2, merchant="Zürich Café")])

    summary = ingest(fresh_db, data, tmp_path)

    assert summary.errors == []
    rows = query(
        fresh_db,
        "select merchant from raw_core_banking.transactions where _file_name = %s order by _line_number",
        (f"transactions/{DAY1}.csv",),
    )
    assert [r[0] for r in rows] == names
    assert ledger(fresh_db)[f"transactions/{DAY1}.csv"][3] == "latin-1"
    assert ledger(fresh_db)[f"transactions/{DAY2}.csv"][3] == "utf-8"
    assert query(
        fresh_db,
        "select merchant from raw_core_banking.transactions where _file_name = %s",
        (f"transactions/{DAY2}.csv",),
    ) == [("Zürich Café",)]


def test_encoding_detection_and_override_rules():
    assert detect_encoding(split_physical_lines("a,é\n".encode())) == "utf-8"
    assert detect_encoding(split_physical_lines("a,é\n".encode("latin-1"))) == "latin-1"
    assert detect_encoding(split_physical_lines("a,€ 5\n".encode("cp1252"))) == "cp1252"
    forced = decode_file("h1,h2\na,é\n".encode(), override="latin-1")
    assert forced.encoding == "iso8859-1" and forced.lines[1] == "a,Ã©"
    strict = decode_file("h1,h2\na,é\n".encode("latin-1"), override="utf-8")
    assert strict.undecodable == {1: "undecodable bytes: byte 0xe9 at position 2 is not valid utf-8"}
    with pytest.raises(ValueError, match="unknown encoding"):
        decode_file(b"h\n", override="no-such-codec")


def test_encoding_override_from_the_caller(fresh_db, tmp_path):
    data = tmp_path / "raw"
    write_lines(
        data, "transactions", DAY1, [header("transactions"), txn(1, DAY1, merchant="€uro Shop")], encoding="cp1252"
    )
    summary = ingest(fresh_db, data, tmp_path, encoding_overrides={"transactions": "cp1252"})
    assert summary.errors == []
    assert query(fresh_db, "select merchant from raw_core_banking.transactions") == [("€uro Shop",)]
    assert ledger(fresh_db)[f"transactions/{DAY1}.csv"][3] == "cp1252"


KILL_SCRIPT = """
import json, os, signal, sys
from pathlib import Path
from warehouse import Warehouse
from ingest import ledger
from ingest.files_pipeline import run_files_ingest
from dlt.destinations.impl.postgres.postgres import PostgresCsvCopyJob

wh = Warehouse(**json.loads(sys.argv[1]))
where = sys.argv[4]
if where == "after_first_copy":
    copy = PostgresCsvCopyJob.run

    def run_then_die(self):
        copy(self)  # committed
        if self.load_table_name == "transactions":
            os.kill(os.getpid(), signal.SIGKILL)

    PostgresCsvCopyJob.run = run_then_die
else:
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    ledger.record = die
run_files_ingest(wh, Path(sys.argv[2]), Path(sys.argv[3]), progress=False)
"""


@pytest.mark.parametrize("where", ["after_first_copy", "before_ledger"])
def test_killed_load_reruns_exactly(fresh_db, tmp_path, where):
    data = tmp_path / "raw"
    expected = {}
    for day in (DAY1, DAY2, "2025-01-05"):
        lines = [header("transactions")] + [txn(i, day) for i in range(400)] + ["broken,line"]
        write_lines(data, "transactions", day, lines)
        expected[f"transactions/{day}.csv"] = (401, 400, 1)
        write_lines(data, "clients", day, [header("clients")] + [client(i, day) for i in range(50)])
        expected[f"clients/{day}.csv"] = (50, 50, 0)
    script = tmp_path / "kill_ingest.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.run(
        [sys.executable, str(script), json.dumps(asdict(fresh_db)), str(data), str(tmp_path / "pipelines"), where],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    # the killed run left rows behind but recorded nothing
    assert query(fresh_db, "select count(*) from raw_core_banking._file_loads")[0][0] == 0
    assert query(fresh_db, "select count(*) from raw_core_banking.transactions")[0][0] > 0

    summary = ingest(fresh_db, data, tmp_path)

    assert summary.errors == []
    assert any(note.startswith("removed rows of an interrupted load: ") for note in summary.notes)
    if where == "after_first_copy":  # dlt still held the half-loaded package: it was aborted, not resumed
        assert any("unfinished load package" in note for note in summary.notes)
    assert {k: v[:3] for k, v in ledger(fresh_db).items()} == expected
    for name, (_lines, rows, _q) in expected.items():
        table = name.split("/")[0]
        assert raw_count(fresh_db, table, name) == rows
    dupes = query(
        fresh_db,
        "select count(*) from (select _file_name, _line_number from raw_core_banking.transactions "
        "group by 1, 2 having count(*) > 1) d",
    )
    assert dupes == [(0,)]
    assert query(fresh_db, "select count(*) from raw_core_banking._quarantine")[0][0] == 3
    assert query(fresh_db, "select count(distinct _dlt_load_id) from raw_core_banking.transactions")[0][0] == 1


def test_generated_bank_matches_its_manifest(fresh_db, tmp_path):
    from bankwh import cli

    data = tmp_path / "raw"
    assert cli.main(["generate", "--scale", "0.01", "--days", "10", "--out", str(data)]) == 0
    manifest = json.loads((data / "manifest.json").read_text())["files"]

    summary = ingest(fresh_db, data, tmp_path)

    assert summary.errors == []
    assert sorted(f.file_name for f in summary.loaded) == sorted(manifest)
    book = ledger(fresh_db)
    seen_defects = set()
    for name, truth in manifest.items():
        defects = truth["defects"]
        seen_defects.update(k for k, v in defects.items() if v)
        broken = defects.get("wrong_field_count", 0) + defects.get("unclosed_quote", 0)
        lines_in, rows, quarantined, encoding, new_columns = book[name][:5]
        assert (lines_in, rows, quarantined) == (truth["lines"], truth["lines"] - broken, broken), name
        assert encoding == truth["encoding"], name
        extra = [c for c in truth["columns"] if c not in header(truth["entity"]).split(",")]
        assert new_columns == (",".join(extra) or None), name
        assert raw_count(fresh_db, truth["entity"], name) == rows, name
    # the demo set exercises the line-level defects this layer handles
    assert {"wrong_field_count", "unclosed_quote", "extra_column", "latin1"} <= seen_defects

    # the bank delivers one more day: only its files load
    assert cli.main(["generate", "--next-day", "--out", str(data)]) == 0
    new_files = set(json.loads((data / "manifest.json").read_text())["files"]) - set(manifest)
    later = ingest(fresh_db, data, tmp_path)
    assert later.errors == [] and new_files
    assert {f.file_name for f in later.loaded} == new_files
    assert len(later.with_status("unchanged")) == len(manifest)


def _deliver(data: Path, entity: str, day: str, content: bytes) -> str:
    """Write a landing file byte for byte (wide encodings cannot go through write_lines' LF bytes); its name."""
    path = data / entity / f"{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return f"{entity}/{day}.csv"


def test_a_bad_file_is_quarantined_whole_with_a_precise_reason(fresh_db, tmp_path):
    """Each file that is not a delimited text file of the source is quarantined whole with a reason naming what it
    is (encoding by byte-order mark, delimiter, binary, empty), its lines counted; a repeated header is one line
    quarantined as repeated_header; the other files load; a re-run skips the bad files until one is re-delivered."""
    data = tmp_path / "raw"
    day = ["2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09"]
    text = "\n".join([header("transactions"), txn(1, day[0]), txn(2, day[0])]) + "\n"
    good = _deliver(data, "transactions", day[0], text.encode())
    utf16 = _deliver(data, "transactions", day[1], text.encode("utf-16"))  # with its byte-order mark
    utf32 = _deliver(data, "transactions", day[2], codecs.BOM_UTF32_BE + text.encode("utf-32-be"))
    semicolon = _deliver(data, "transactions", day[3], text.replace(",", ";").encode())
    binary = _deliver(data, "transactions", day[4], b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\n\x00\x00\x02\x08")
    empty = _deliver(data, "transactions", day[5], b"")
    repeated_lines = [header("transactions"), txn(3, day[6]), header("transactions"), txn(4, day[6])]
    repeated = _deliver(data, "transactions", day[6], ("\n".join(repeated_lines) + "\n").encode())

    summary = ingest(fresh_db, data, tmp_path)

    assert summary.errors == []
    expected = {  # file: (status, lines in, rows, quarantined, start of the reason)
        good: ("loaded", 2, 2, 0, None),
        utf16: ("quarantined", 2, 0, 2, "UTF-16 LE (byte-order mark); expected UTF-8 or the legacy single-byte enc"),
        utf32: ("quarantined", 2, 0, 2, "UTF-32 BE (byte-order mark); expected UTF-8 or the legacy single-byte enc"),
        semicolon: ("quarantined", 2, 0, 2, "delimited by ';' not ','"),
        binary: ("quarantined", 3, 0, 3, "binary: NUL bytes"),  # 4 physical lines, the first the "header"
        empty: ("quarantined", 0, 0, 0, "empty file (0 bytes)"),
        repeated: ("loaded", 3, 2, 1, None),
    }
    assert {f.file_name: f.status for f in summary.files} == {name: e[0] for name, e in expected.items()}
    book = {
        r[0]: r[1:]
        for r in query(
            fresh_db,
            "select file_name, lines_in, rows_loaded, rows_quarantined, rejected_reason "
            "from raw_core_banking._file_loads",
        )
    }
    for name, (_, lines_in, rows, quarantined, reason) in expected.items():
        assert book[name][:3] == (lines_in, rows, quarantined), name
        assert (book[name][3] or "").startswith(f"{name}: {reason}" if reason else ""), book[name][3]
        assert raw_count(fresh_db, "transactions", name) == rows, name
    lines = dict(
        query(
            fresh_db,
            "select file_name || ':' || line_number, raw_line || ' | ' || reason from raw_core_banking._quarantine",
        )
    )
    assert lines[f"{utf16}:2"].startswith(txn(1, day[0]) + " | file quarantined whole: " + utf16 + ": UTF-16 LE")
    assert lines[f"{repeated}:3"] == header("transactions") + " | repeated_header: the line repeats the header " \
        "(line 1); two exports concatenated?"  # fmt: skip
    # NUL bytes shown escaped: a PostgreSQL text cannot hold them
    assert lines[f"{binary}:3"].startswith("\\x00\\x00\\x00\rIHDR")

    assert {f.status for f in ingest(fresh_db, data, tmp_path).files} == {"unchanged"}
    _deliver(data, "transactions", day[3], text.replace("T0000001", "T0000011").encode())  # re-delivered, fixed
    again = {f.file_name: (f.status, f.rows) for f in ingest(fresh_db, data, tmp_path).files}
    assert again[semicolon] == ("replaced", 2)
    assert {status for name, (status, _) in again.items() if name != semicolon} == {"unchanged"}


def test_content_and_delimiter_sniffing_rules():
    """What decides binary, a wide encoding and another delimiter, without a database; a text file with one
    damaged line is not binary (that line is quarantined on its own)."""
    text = (header("transactions") + "\n" + txn(1, DAY1) + "\n").encode()
    assert content_problem(text) is None
    assert content_problem(text + b"T9,\x00broken\n") is None
    assert content_problem(text.decode().encode("utf-16-le")).startswith("UTF-16 LE (no byte-order mark")
    assert content_problem(bytes(range(256)) * 4).startswith("binary: NUL bytes (4 in the first 1024 bytes")
    line = header("transactions")
    assert other_delimiter(line.replace(",", "\t"), ",", '"', ("transaction_id",)) == "\t"
    assert other_delimiter(line, ";", '"', ("transaction_id",)) == ","
    assert other_delimiter(line, ",", '"', ("transaction_id",)) is None
    assert other_delimiter("account_id;x;y,z", ",", '"', ("account_id", "x")) == ";"  # only ';' gives the columns


def test_the_nights_file_table_shows_only_the_files_to_look_at():
    """Thousands of clean files a night: the log's table keeps the replaced, quarantined and partly rejected ones,
    and the total still counts every file read."""
    from ingest.summary import FileResult, IngestSummary

    summary = IngestSummary(
        "files",
        [
            FileResult("transactions/2025-01-01.csv", "transactions", "loaded", lines_in=11, rows=10),
            FileResult("transactions/2025-01-02.csv", "transactions", "loaded", lines_in=11, rows=9, quarantined=1),
            FileResult("clients/2025-01-01.csv", "clients", "replaced", lines_in=3, rows=2),
            FileResult("fraud_labels/2025-01-01.csv", "fraud_labels", "quarantined", lines_in=4, quarantined=4),
            FileResult("postings/2025-01-01.csv", "postings", "unchanged"),
        ],
    )
    notable = summary.table(notable_only=True).splitlines()
    assert [line.split()[0] for line in notable[2:-2]] == [
        "transactions/2025-01-02.csv",
        "clients/2025-01-01.csv",
        "fraud_labels/2025-01-01.csv",
    ]
    assert notable[-1].split()[:4] == ["total", "4", "loaded", "29"]
    assert len(summary.table().splitlines()) == len(notable) + 1  # the clean file, shown in the full table only
    # a cap on the partly rejected files: the replaced and the quarantined stay, a line counts the rest
    capped = summary.table(notable_only=True, limit=0).splitlines()
    assert [line.split()[0] for line in capped[2:-3]] == ["clients/2025-01-01.csv", "fraud_labels/2025-01-01.csv"]
    assert capped[-3].startswith("... and 1 more file(s) with quarantined lines") and capped[-1] == notable[-1]
