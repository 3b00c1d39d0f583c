"""Prefect orchestration of the bank warehouse: the `nightly` flow (flows.py, wiring only), its tasks and the
local Prefect server. Composes `ingest`, `publishing` and `warehouse`; the `bankwh` CLI starts it."""
