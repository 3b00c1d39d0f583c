"""`bankwh api serve`: run the bank's HTTP API in the foreground until interrupted."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from bank_sim.api.server import DEFAULT_PORT, DEFAULT_TOKEN

    api = subparsers.add_parser(
        "api",
        help="run the simulated bank's HTTP API (survey responses, FX rates)",
        description="The simulated bank's JSON API, the source of raw_bank_api (see docs/source_contract.md).",
    )
    actions = api.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the API until Ctrl-C",
        description=(
            "Serve GET /v1/survey-responses, GET /v1/fx-rates and GET /health from DATA/raw/surveys/*.csv and "
            "DATA/api/fx_rates.csv. Files are re-read when they change, so the generator can keep appending days. "
            "The misbehaviour options make the API slow or flaky to test clients."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0 picks a free one)")
    serve.add_argument("--data", type=Path, default=Path("data"), help="data folder written by the generator")
    serve.add_argument(
        "--token",
        default=os.environ.get("BANKWH_API_TOKEN", DEFAULT_TOKEN),
        help="bearer token clients must send (default: $BANKWH_API_TOKEN, else demo-token)",
    )
    serve.add_argument("--slow-ms", type=int, default=0, help="delay every page by this many milliseconds")
    serve.add_argument(
        "--rate-limit-every", type=int, default=0, metavar="N", help="answer every Nth request 429 (0: never)"
    )
    serve.add_argument("--fail-every", type=int, default=0, metavar="N", help="answer every Nth request 503 (0: never)")
    serve.add_argument("--quiet", action="store_true", help="do not log one line per request to stderr")
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from bank_sim.api.server import Behaviour, make_server

    behaviour = Behaviour(args.slow_ms, args.rate_limit_every, args.fail_every)
    try:
        server = make_server(args.data, args.port, args.host, args.token, behaviour, args.quiet)
    except OSError as exc:
        raise RuntimeError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}; try another --port") from exc
    surveys = args.data / "raw" / "surveys"
    fx = args.data / "api" / "fx_rates.csv"
    for path, what in [(surveys, "survey folder"), (fx, "FX rate file")]:
        if not path.exists():
            print(f"note: {what} {path} does not exist yet; it is served as soon as the generator writes it")
    print(f"bank API serving {args.data} at {server.url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("bank API stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
