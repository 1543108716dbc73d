"""Serve a simulator app on a real loopback port in a background thread, for tests.

Typical use in a pytest fixture::

    from spacelift_sim import World, create_app
    from spacelift_sim.testing import run_in_thread

    world = World(stacks=20, seed=7, activity=0)
    server = run_in_thread(create_app(world))
    try:
        ...  # point a client at server.graphql_url (and server.url + "/_sim/..." for controls)
        world.tick(3)  # or: requests.post(server.url + "/_sim/tick", json={"steps": 3})
    finally:
        server.stop()

`run_in_thread(app, ssl_context=("cert.pem", "key.pem"))` serves https instead.
`fetch_token(server.graphql_url)` exchanges the default API key for a JWT, and
`gql_client(server.graphql_url, token)` gives a `gql.Client` that fetched the schema by
introspection; `execute(client, document, **variables)` runs one operation.
`run_in_state(world, "UNCONFIRMED")` makes a tracked run in that state (QUEUED, READY,
UNCONFIRMED, FAILED or FINISHED) on a fresh stack of its own, by scripting the run's outcome
and ticking the world; it returns (stack id, run id).
`self_signed_certificate(directory)` writes a PEM certificate and key for 127.0.0.1 (needs the
`cryptography` test dependency) for `ssl_context=` or `spacelift-sim --tls-cert/--tls-key`. The server binds
127.0.0.1 on a free port and is threaded, so concurrent clients work; `stop()` shuts it down,
stops the app's wall-clock ticker if it has one, and joins the thread.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from .app import EXTENSION
from .world import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, World

__all__ = [
    "ServerHandle",
    "execute",
    "fetch_token",
    "gql_client",
    "run_in_state",
    "run_in_thread",
    "self_signed_certificate",
]


@dataclass
class ServerHandle:
    """A running server: `url` is the base URL (no trailing slash), `graphql_url` the endpoint."""

    url: str
    app: Flask
    server: BaseWSGIServer = field(repr=False)
    thread: threading.Thread = field(repr=False)

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def port(self) -> int:
        return self.server.server_port

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        state = self.app.extensions.get(EXTENSION)
        if state is not None:
            state.stop()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def run_in_thread(app: Flask, ssl_context=None, host: str = "127.0.0.1") -> ServerHandle:
    """Start `app` on `host` at a free port in a daemon thread; returns once it accepts."""
    server = make_server(host, 0, app, threaded=True, ssl_context=ssl_context)
    scheme = "https" if ssl_context is not None else "http"
    thread = threading.Thread(target=server.serve_forever, name="spacelift-sim", daemon=True)
    thread.start()
    return ServerHandle(f"{scheme}://{host}:{server.server_port}", app, server, thread)


def fetch_token(
    graphql_url: str,
    key_id: str = DEFAULT_KEY_ID,
    key_secret: str = DEFAULT_KEY_SECRET,
    verify: bool | str = True,
) -> str:
    """Exchange an API key for a JWT with `apiKeyUser` (raises if the exchange fails)."""
    client = gql_client(graphql_url, token=None, fetch_schema=False, verify=verify)
    result = execute(
        client,
        "mutation Token($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt } }",
        id=key_id,
        secret=key_secret,
    )
    if result["apiKeyUser"] is None:
        raise LookupError(f"unknown API key id {key_id}")
    return result["apiKeyUser"]["jwt"]


def gql_client(
    graphql_url: str,
    token: str | None = None,
    fetch_schema: bool = True,
    verify: bool | str = True,
):
    """A `gql.Client` over requests; with `fetch_schema` it introspects and validates locally."""
    from gql import Client
    from gql.transport.requests import RequestsHTTPTransport

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = RequestsHTTPTransport(
        url=graphql_url, headers=headers, timeout=30, verify=verify, retries=0
    )
    return Client(transport=transport, fetch_schema_from_transport=fetch_schema)


def execute(client, document: str, operation_name: str | None = None, **variables) -> dict:
    """Run one GraphQL operation with `client`; GraphQL errors raise TransportQueryError."""
    from gql import GraphQLRequest

    request = GraphQLRequest(
        document, variable_values=variables or None, operation_name=operation_name
    )
    return client.execute(request)


def self_signed_certificate(directory) -> tuple[str, str]:
    """Write a self-signed certificate for 127.0.0.1 and localhost; returns (cert, key) paths.

    Pass the certificate path as `verify=` to requests or gql to trust it.
    """
    import datetime
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = Path(directory) / "sim-cert.pem", Path(directory) / "sim-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


# The outcome to script, and whether the stack deploys by itself, to reach each state.
_RECIPES = {
    "QUEUED": ("changes", False),
    "READY": ("changes", False),
    "UNCONFIRMED": ("changes", False),
    "FAILED": ("plan_failed", False),
    "FINISHED": ("noop", False),
}


def run_in_state(world: World, state: str, stack_id: str | None = None) -> tuple[str, str]:
    """A new tracked run in `state` on a fresh stack (or `stack_id`, created if needed and with
    no run going): (stack id, run id). Ticking moves every run of the world, so make the run
    just before using it."""
    if state not in _RECIPES:
        raise ValueError(f"unsupported state {state!r}; use one of {', '.join(_RECIPES)}")
    outcome, autodeploy = _RECIPES[state]
    stack_id = stack_id or f"t-{uuid.uuid4().hex[:10]}"
    world.upsert_stack(id=stack_id, autodeploy=autodeploy, nextOutcomes=[outcome])
    run = world.trigger_run(stack_id, "alice")
    for _ in range(12):
        if run.state == state:
            break
        world.tick()
    if run.state != state:
        raise RuntimeError(f"the run reached {run.state}, not {state}")
    return stack_id, run.id
