"""What can go wrong talking to Spacelift, and the one table that maps it to HTTP answers.

Code below raises `SpaceliftFailure(kind, message)`; `TABLE` turns the kind into the status,
the error code and the troubleshooting hint (from the Spacelift plugin's troubleshooting guide)
of the host's JSON error shape. Upstream text is scrubbed of secrets and tokens first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Response

from host import ApiError, api_error


@dataclass(frozen=True)
class ErrorKind:
    """One row of the mapping table."""

    status: int
    code: str
    hint: str | None = None
    # Whether a last good answer may be served (marked stale) instead of this error.
    serve_stale: bool = True


NOT_CONFIGURED_STEPS = (
    "Create an API key in Spacelift (Organization settings > API keys, or Integrations > "
    "Backstage for an integration key) and note its id and secret.",
    "Add a `spacelift:` block to app-config.yaml with hostUrl (your host without https://, "
    "such as acme.app.spacelift.io), apiKey: ${SPACELIFT_API_KEY} and "
    "apiSecret: ${SPACELIFT_API_SECRET}.",
    "Set SPACELIFT_API_KEY and SPACELIFT_API_SECRET in the environment, run "
    "`greenroom config check`, then restart Greenroom.",
    "Or, as an admin, enter the host, the key id and the secret on the administration page "
    "(/administration/spacelift/): that takes effect at once, without a restart.",
)

TABLE: dict[str, ErrorKind] = {
    "auth_failed": ErrorKind(
        502,
        "spacelift_auth_failed",
        "Check that spacelift.apiKey (the key id) and spacelift.apiSecret are correct, that the "
        "key has not been deleted or expired, and that it may read the stacks and runs you want "
        "to show.",
    ),
    "unreachable": ErrorKind(
        503,
        "spacelift_unreachable",
        "Check that spacelift.hostUrl is your Spacelift host without https:// (such as "
        "acme.app.spacelift.io), and that Spacelift can be reached from this server "
        "(proxy, firewall, DNS).",
    ),
    "timeout": ErrorKind(
        504,
        "spacelift_timeout",
        "Spacelift did not answer within spacelift.requestTimeoutSeconds. Check that it can be "
        "reached from this server (proxy, firewall), or raise the timeout.",
    ),
    "upstream": ErrorKind(
        502,
        "spacelift_error",
        "Spacelift answered with an error. Check that the API key has the permissions to read "
        "stacks and runs, and see Spacelift's status page.",
    ),
    "not_found": ErrorKind(404, "not_found", serve_stale=False),
    # Spacelift refused an action because of the stack's state (locked by someone, disabled).
    "conflict": ErrorKind(
        409,
        "spacelift_conflict",
        "Unlock or enable the stack in Spacelift (or wait for its lock to be released), "
        "then try again.",
        serve_stale=False,
    ),
    # The run's state does not allow the action (API notes 9.3): someone acted first, or the
    # run moved on. Checked before calling Spacelift, and again when Spacelift refuses.
    "run_state": ErrorKind(
        409,
        "spacelift_conflict",
        "The run's state does not allow this action (any more). Reload the run to see its "
        "state and the actions it allows now.",
        serve_stale=False,
    ),
    "not_configured": ErrorKind(
        503,
        "spacelift_not_configured",
        "Add the spacelift block to the configuration; see `steps`.",
        serve_stale=False,
    ),
}


class SpaceliftFailure(Exception):
    """A failure of a Spacelift call, classified by `kind` (a key of TABLE)."""

    def __init__(self, kind: str, message: str, **extra: Any):
        if kind not in TABLE:
            raise ValueError(f"unknown failure kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.extra = extra

    @property
    def status(self) -> int:
        return TABLE[self.kind].status

    @property
    def code(self) -> str:
        return TABLE[self.kind].code

    @property
    def hint(self) -> str | None:
        return TABLE[self.kind].hint

    @property
    def serve_stale(self) -> bool:
        return TABLE[self.kind].serve_stale

    def as_dict(self) -> dict[str, Any]:
        """The error object of the JSON shape: code, message, hint and any extra fields."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        out.update(self.extra)
        return out

    def response(self) -> Response:
        """The JSON error response in the host's shape."""
        body = self.as_dict()
        code, message = body.pop("code"), body.pop("message")
        return api_error(self.status, code, message, **body)

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable with its extra fields, so it can sit in a shared cache.
        return (_rebuild, (self.kind, self.message, self.extra))


def _rebuild(kind: str, message: str, extra: dict[str, Any]) -> SpaceliftFailure:
    return SpaceliftFailure(kind, message, **extra)


def not_configured() -> SpaceliftFailure:
    return SpaceliftFailure(
        "not_configured",
        "the Spacelift plugin is not configured: there is no spacelift block in the "
        "configuration and no connection saved on the administration page",
        steps=list(NOT_CONFIGURED_STEPS),
    )


def invalid_parameter(name: str, message: str) -> ApiError:
    """A 422 naming the parameter that is wrong."""
    return ApiError(422, "invalid_parameter", f"{name}: {message}", parameter=name)


# JWTs are three base64url parts, the first one a JSON header ("eyJ").
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
REDACTED = "***"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without any JWT-looking token and without the given secret values."""
    text = _JWT.sub(REDACTED, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def first_line(text: str, limit: int = 300) -> str:
    """Upstream text fit for a message: one line, at most `limit` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
