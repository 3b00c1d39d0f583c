"""The audit trail (monitoring/audit.py, analyses/audit_trail.sql) on the real night of test_reconciliation: from a
published fact row to the landing file and line, the dlt load, the dbt invocation, the Prefect flow run and the
Delta version, each checked against the system that owns it (the file on disk, the raw row, dbt's run_results.json,
Prefect's flow run, the Delta log)."""

from __future__ import annotations

import json

from deltalake import DeltaTable
from test_reconciliation import QualityNight, quality_night  # noqa: F401  (the shared night)

from monitoring import audit


def _a_fact_row(night: QualityNight) -> tuple[str, str]:
    (row,) = night.rows(
        "select transaction_key, transaction_id from marts.fact_transactions where source_system = 'core_banking' "
        "and not is_late_arrival order by booked_at desc, transaction_key limit 1"
    )
    return row


def test_a_mart_row_leads_to_its_file_line_load_invocation_flow_run_and_delta_version(
    quality_night: QualityNight,  # noqa: F811
) -> None:
    night = quality_night
    key, transaction_id = _a_fact_row(night)
    conn = night.wh.connect()
    try:
        trail = audit.trace(conn, "marts", key)
    finally:
        conn.close()
    assert trail is not None and trail["transaction_key"] == key

    # the file and line: the landing file on disk holds the transaction at that physical line (header = 1)
    lines = (night.work / "raw" / trail["file_name"]).read_bytes().decode("latin-1").splitlines()
    assert lines[trail["line_number"] - 1].split(",")[0] == transaction_id

    # the dlt load: the raw row at that file and line, and one of the loads the published night records
    (load,) = night.rows(
        "select _dlt_load_id from raw_core_banking.transactions where _file_name = %s and _line_number = %s",
        trail["file_name"],
        trail["line_number"],
    )[0]
    (record,) = night.rows("select row_to_json(p) from monitoring.published_runs as p")
    assert trail["dlt_load_id"] == load and load in record[0]["dlt_load_ids"] and trail["listed_in_record"]

    # the night: Prefect's flow run, dbt's invocation (its own run_results.json), the Delta table's version
    assert trail["flow_run_id"] == night.run_id == record[0]["run_id"]
    run_results = json.loads((night.work / "target" / "run_results.json").read_text())
    assert trail["dbt_invocation_id"] == run_results["metadata"]["invocation_id"] == record[0]["dbt_invocation_id"]
    delta = DeltaTable(str(night.work / "delta" / "fact_transactions"))
    assert trail["delta_version"] == delta.version() == record[0]["delta_versions"]["fact_transactions"]
    assert trail["raw_schema"] == "raw_core_banking" and trail["loaded_at"] <= trail["published_at"]


def test_the_documented_analysis_compiles_to_the_same_trail(quality_night: QualityNight, tmp_path) -> None:  # noqa: F811
    """analyses/audit_trail.sql, compiled by dbt with the row's key, answers what monitoring/audit.py answers."""
    from dbt_helpers import run_dbt

    night = quality_night
    key, _ = _a_fact_row(night)
    run = run_dbt(night.wh, ["compile", "--select", "audit_trail", "--vars", json.dumps({"transaction_key": key})],
                  tmp_path)  # fmt: skip
    assert run.success, run.statuses
    (compiled,) = (tmp_path / "target" / "compiled").rglob("audit_trail.sql")
    sql = compiled.read_text()
    assert '"marts"."fact_transactions"' in sql and '"monitoring"."load_lineage"' in sql
    with night.wh.cursor() as cur:
        cur.execute(sql)
        names = [d[0] for d in cur.description]
        (row,) = cur.fetchall()
    conn = night.wh.connect()
    try:
        trail = audit.trace(conn, "marts", key)
    finally:
        conn.close()
    assert dict(zip(names, row, strict=True)) == trail
