"""The simulator serves https with a certificate the test generates (the official plugin is https-only)."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from cryptography import x509

from spacelift_sim import World, create_app
from spacelift_sim.testing import (
    execute,
    fetch_token,
    gql_client,
    run_in_thread,
    self_signed_certificate,
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_generated_certificate_names_loopback(certificate):
    cert_path, _ = certificate
    loaded = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
    names = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]


def test_https_with_a_verified_self_signed_certificate(certificate):
    cert_path, key_path = certificate
    handle = run_in_thread(
        create_app(World(stacks=6, activity=0)), ssl_context=(cert_path, key_path)
    )
    try:
        assert handle.graphql_url.startswith("https://127.0.0.1:")
        token = fetch_token(handle.graphql_url, verify=cert_path)
        client = gql_client(handle.graphql_url, token, verify=cert_path)
        stacks = execute(client, "{ stacks { id state } viewer { id } }")
        assert len(stacks["stacks"]) == 6 and stacks["viewer"]["id"]
        # The JWT audience is the https base URL, so clients that follow `aud` stay on TLS.
        segment = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        assert claims["aud"] == [handle.url]
        with pytest.raises(requests.exceptions.SSLError):  # not trusted without the certificate
            requests.post(handle.graphql_url, json={"query": "{ viewer { id } }"}, timeout=10)
        plain = handle.graphql_url.replace("https://", "http://")
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(plain, json={"query": "{ viewer { id } }"}, timeout=10)
    finally:
        handle.stop()
