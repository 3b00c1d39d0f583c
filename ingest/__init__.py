"""Ingestion of the bank's exports into the PostgreSQL raw layer with dlt."""
