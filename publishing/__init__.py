"""Publication of a night: the publish gate (dbt results → go/no-go), the write–audit–publish switch of the marts'
views, the Delta Lake export and its parity check. Depends on `warehouse` only; Prefect and the CLI call it."""
