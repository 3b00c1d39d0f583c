"""The bank's HTTP API (survey responses, FX rates), served from the generator's files (see docs/source_contract.md)."""

from .server import DEFAULT_PORT, DEFAULT_TOKEN, BankApiServer, Behaviour, make_server, start_server, stop_server

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_TOKEN",
    "BankApiServer",
    "Behaviour",
    "make_server",
    "start_server",
    "stop_server",
]
