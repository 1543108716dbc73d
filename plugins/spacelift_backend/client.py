"""The one place that talks to Spacelift: gql over its requests transport, with the JWT.

Thread safety: gql's `Client.execute` connects and closes its transport around every call, and
`RequestsHTTPTransport.connect()` refuses a transport that is already connected, so one shared
client fails as soon as two requests overlap. We build a fresh `Client` and a fresh
`SessionTransport` per call (both are a few attributes, no I/O) on top of one shared, pooled
`requests.Session` (the host's `ctx.http`): urllib3's pool is thread-safe and connections are
reused, so concurrency costs neither a lock nor a TLS handshake per call.

The transport is also quiet: gql's requests transport logs every payload and answer at DEBUG,
and those hold the API secret and the JWT. Ours logs one line per call, without either.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport
from graphql import DocumentNode, ExecutionResult, parse

from spacelift_backend import queries
from spacelift_backend.config import Settings
from spacelift_backend.errors import SpaceliftFailure, first_line, scrub
from spacelift_backend.token_manager import Token, TokenManager


class SessionTransport(RequestsHTTPTransport):
    """gql's requests transport over a shared `requests.Session`; build one per call.

    It does not own the session (closing it leaves the pool alone), logs no payloads, and
    turns any HTTP status >= 400 into a `TransportServerError`, also when the body is JSON.
    """

    def __init__(self, url: str, session: requests.Session, **kwargs: Any):
        super().__init__(url, **kwargs)
        self._shared = session

    def connect(self) -> None:
        self.session = self._shared

    def close(self) -> None:
        self.session = None

    def _prepare_request(  # type: ignore[override]
        self,
        request: GraphQLRequest,
        *,
        timeout: float | None = None,
        extra_args: dict[str, Any] | None = None,
        upload_files: bool = False,
    ) -> dict[str, Any]:
        post_args: dict[str, Any] = {
            "headers": self.headers,
            "timeout": timeout or self.default_timeout,
            "verify": self.verify,
            "json": request.payload,
        }
        post_args.update(self.kwargs)
        if extra_args:
            post_args.update(extra_args)
        return post_args

    def _prepare_result(self, response: requests.Response) -> ExecutionResult:
        self.response_headers = response.headers
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise TransportServerError(
                f"HTTP {response.status_code}: {_http_message(response, body)}",
                response.status_code,
            )
        if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
            raise TransportProtocolError("the answer is not a GraphQL JSON result")
        return ExecutionResult(
            data=body.get("data"), errors=body.get("errors"), extensions=body.get("extensions")
        )


def _http_message(response: requests.Response, body: Any) -> str:
    """The error's message from a JSON body, a short plain-text body, or the reason phrase."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict) and first.get("message"):
            return first_line(first["message"])
    text = response.text.strip()
    if response.headers.get("Content-Type", "").startswith("text/plain") and 0 < len(text) <= 200:
        return first_line(text)
    return first_line(response.reason or "no details")


@functools.lru_cache(maxsize=64)
def _document(text: str) -> DocumentNode:
    return parse(text)


class Unauthorized(Exception):
    """Spacelift said `unauthorized` (a GraphQL error) or answered 401/403: the token may be dead."""


class SpaceliftClient:
    """Sends the documents of `queries` with a valid token; drops the token and retries once
    when Spacelift refuses it or treats it as anonymous."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session,
        logger: logging.Logger,
        token_manager_factory: Callable[[Callable[[], Token]], TokenManager],
    ):
        assert settings.host_url is not None
        self.settings = settings
        self.url = settings.host_url.graphql_url
        self.session = session
        self.logger = logger
        self.tokens = token_manager_factory(self.exchange_key)

    # -- one HTTP call -------------------------------------------------------------------------

    def _post(
        self, operation: str, document: str, variables: dict[str, Any], jwt: str | None = None
    ) -> dict[str, Any]:
        """POST one document; returns `data`, or raises Unauthorized / SpaceliftFailure."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if jwt:
            headers["Authorization"] = f"Bearer {jwt}"
        transport = SessionTransport(
            self.url,
            self.session,
            headers=headers,
            timeout=self.settings.request_timeout,  # type: ignore[arg-type]
            verify=self.settings.verify,
            proxies=self.settings.proxies,
        )
        client = Client(transport=transport, fetch_schema_from_transport=False)
        request = GraphQLRequest(
            _document(document), variable_values=variables, operation_name=operation
        )
        started = time.monotonic()
        outcome = "ok"
        try:
            result = client.execute(request, get_execution_result=True)
            return result.data or {}
        except TransportQueryError as exc:
            messages = [_error_message(e) for e in exc.errors or []] or [str(exc)]
            outcome = "graphql_error"
            if any("unauthorized" in m.lower() for m in messages):
                outcome = "unauthorized"
                raise Unauthorized(messages[0]) from None
            if any(m.strip().lower() == "not found" for m in messages):
                outcome = "not_found"
                raise SpaceliftFailure("not_found", "not found") from None
            raise SpaceliftFailure(
                "upstream", "Spacelift answered with an error: " + self._clean("; ".join(messages))
            ) from None
        except TransportServerError as exc:
            status = exc.code or 0
            outcome = f"http_{status}"
            if status in (401, 403):
                raise Unauthorized(f"HTTP {status}") from None
            if status in (429, 502, 503, 504):
                raise SpaceliftFailure(
                    "unreachable", f"Spacelift is unavailable: {self._clean(str(exc))}"
                ) from None
            raise SpaceliftFailure(
                "upstream", f"Spacelift failed: {self._clean(str(exc))}"
            ) from None
        except TransportProtocolError:
            outcome = "malformed"
            raise SpaceliftFailure(
                "upstream", "Spacelift sent an answer that is not valid GraphQL JSON"
            ) from None
        except TransportConnectionFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, requests.Timeout):
                outcome = "timeout"
                raise SpaceliftFailure(
                    "timeout",
                    f"Spacelift did not answer within {self.settings.request_timeout:g} s",
                ) from None
            outcome = "unreachable"
            raise SpaceliftFailure(
                "unreachable",
                f"cannot reach Spacelift at {self.settings.host_url.netloc}: "  # type: ignore[union-attr]
                + _connection_reason(cause),
            ) from None
        finally:
            self.logger.info(
                "spacelift call op=%s duration_ms=%d cache=miss outcome=%s",
                operation,
                (time.monotonic() - started) * 1000,
                outcome,
            )

    def _clean(self, text: str) -> str:
        return first_line(scrub(text, [self.settings.api_secret]))

    # -- the token ---------------------------------------------------------------------------

    def exchange_key(self) -> Token:
        """Exchange the API key for a JWT (`apiKeyUser`); a refusal is an auth failure."""
        key = self.settings.api_key
        try:
            data = self._post(
                "GreenroomToken",
                queries.TOKEN,
                {"id": key, "secret": self.settings.api_secret},
            )
        except Unauthorized as exc:
            raise SpaceliftFailure(
                "auth_failed",
                f"Spacelift rejected the API key {key} ({exc}): the secret may be wrong",
            ) from None
        except SpaceliftFailure as exc:
            if exc.kind == "not_found":
                raise SpaceliftFailure(
                    "auth_failed", f"Spacelift does not know the API key id {key}"
                ) from None
            raise
        user = data.get("apiKeyUser")
        if not isinstance(user, dict):
            raise SpaceliftFailure(
                "auth_failed",
                f"Spacelift does not know the API key id {key} (apiKeyUser returned null)",
            )
        jwt, valid_until = user.get("jwt"), user.get("validUntil")
        if not isinstance(jwt, str) or not jwt or not isinstance(valid_until, int | float):
            raise SpaceliftFailure("upstream", "Spacelift sent an incomplete token (apiKeyUser)")
        return Token.issued(jwt, int(valid_until), lifetime=_jwt_lifetime(jwt))

    # -- authenticated calls -------------------------------------------------------------------

    def query(
        self, operation: str, document: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a query that selects `viewer { id }`; a null viewer means a dead token."""
        return self._authenticated(operation, document, variables or {}, guard_viewer=True)

    def mutate(
        self, operation: str, document: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a mutation (an anonymous caller gets `unauthorized`, so no viewer guard)."""
        return self._authenticated(operation, document, variables or {}, guard_viewer=False)

    def _authenticated(
        self, operation: str, document: str, variables: dict[str, Any], guard_viewer: bool
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self.tokens.get()
            try:
                data = self._post(operation, document, variables, token.jwt)
            except Unauthorized as exc:
                self.tokens.drop(token)
                if attempt == 1:
                    self.logger.info("spacelift refused the token (%s); exchanging the key again", exc)
                    continue
                raise SpaceliftFailure(
                    "auth_failed", f"Spacelift refused a freshly issued token: {exc}"
                ) from None
            if guard_viewer and data.get("viewer") is None:
                # Spacelift's answer for an expired or revoked token: anonymous, not a 401.
                self.tokens.drop(token)
                if attempt == 1:
                    self.logger.info("spacelift treated the token as anonymous; exchanging the key again")
                    continue
                raise SpaceliftFailure(
                    "auth_failed",
                    "Spacelift treats a freshly issued token as anonymous (viewer is null)",
                )
            return data
        raise AssertionError("unreachable")  # pragma: no cover


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or "unknown error")
    return str(error)


def _connection_reason(cause: BaseException | None) -> str:
    """A short, secret-free reason for a failed connection."""
    if isinstance(cause, requests.exceptions.SSLError):
        return "TLS failed (if Spacelift uses a private CA, set spacelift.caBundle)"
    if isinstance(cause, requests.exceptions.ProxyError):
        return "the proxy (spacelift.proxy) refused or failed"
    text = str(cause or "").lower()
    for reason in ("connection refused", "name or service not known", "no route to host",
                   "temporary failure in name resolution", "connection reset",
                   "remote end closed connection"):  # fmt: skip
        if reason in text:
            return reason
    return "connection failed"


def _jwt_lifetime(jwt: str) -> int | None:
    """exp - iat from the JWT's claims (both Spacelift's clock), if it carries them."""
    try:
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp, iat = int(claims["exp"]), int(claims["iat"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    return exp - iat if exp > iat else None
