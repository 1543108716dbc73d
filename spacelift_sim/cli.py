"""spacelift-sim command line: serve a simulated Spacelift GraphQL API on loopback."""

from __future__ import annotations

import argparse
import sys
import time

from werkzeug.serving import make_server

from .app import EXTENSION, create_app
from .world import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, DEFAULT_TOKEN_TTL


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="spacelift-sim", description="A local Spacelift GraphQL API simulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7070, help="port; 0 picks a free one")
    parser.add_argument("--stacks", type=int, default=50, help="number of seeded stacks")
    parser.add_argument("--seed", type=int, default=42, help="seed of the world's content")
    parser.add_argument("--key-id", default=DEFAULT_KEY_ID, help="API key id to accept")
    parser.add_argument("--key-secret", default=DEFAULT_KEY_SECRET, help="API key secret")
    parser.add_argument("--token-ttl", type=int, default=DEFAULT_TOKEN_TTL, help="JWT lifetime, s")
    parser.add_argument(
        "--tick", type=float, default=2.0, help="seconds between world steps; 0 stops the clock"
    )
    parser.add_argument("--tls-cert", help="PEM certificate: serve https")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument(
        "--strict-401", action="store_true", help="answer 401 to bad or expired tokens"
    )
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.stacks < 0 or args.token_ttl <= 0 or args.tick < 0:
        parser.error("--stacks and --tick must not be negative, --token-ttl must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    app = create_app(
        stacks=args.stacks,
        seed=args.seed,
        key_id=args.key_id,
        key_secret=args.key_secret,
        token_ttl=args.token_ttl,
        tick_seconds=args.tick or None,
        strict_401=args.strict_401,
    )
    app.extensions[EXTENSION].world.prepare()
    built = time.perf_counter() - started
    ssl_context = (args.tls_cert, args.tls_key) if args.tls_cert else None
    server = make_server(args.host, args.port, app, threaded=True, ssl_context=ssl_context)
    scheme = "https" if ssl_context else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    base = f"{scheme}://{host}:{server.server_port}"
    print(f"spacelift-sim: {args.stacks} stacks (seed {args.seed}) built in {built:.2f} s")
    print(f"GraphQL URL: {base}/graphql")
    print(f"Controls:    {base}/_sim/stats")
    print(f"API key id:     {args.key_id}")
    print(f"API key secret: {args.key_secret}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions[EXTENSION].stop()
        sys.stdout.flush()
