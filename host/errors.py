"""One error shape: JSON `{"error": {"code", "message", ...}}` under /api, the layout elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("greenroom.errors")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "timeout",
}


class ApiError(Exception):
    """Raise from a backend view to answer with the JSON error shape.

    Extra keyword arguments (such as `hint`) are added inside the "error" object.
    """

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def api_error(status: int, code: str, message: str, **extra: Any) -> Response:
    """A JSON error response in the host's shape."""
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    return response


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def install(app: Flask) -> None:
    """Register the error handlers: JSON under /api, HTML pages elsewhere, never a traceback."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return api_error(exc.status, exc.code, exc.message, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        if _is_api():
            message = exc.description or exc.name
            response = api_error(status, CODES.get(status, "error"), message)
            if status == 405 and exc.get_response().headers.get("Allow"):
                response.headers["Allow"] = exc.get_response().headers["Allow"]
            if status == 429 and getattr(exc, "retry_after", None):
                response.headers["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
            return response
        return (
            render_template("host/error.html", status=status, title=exc.name, message=exc.description),
            status,
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        if _is_api():
            return api_error(500, "internal_error", "an unexpected error occurred; see the server log")
        return (
            render_template(
                "host/error.html",
                status=500,
                title="Something went wrong",
                message="An unexpected error occurred. The details are in the server log.",
            ),
            500,
        )
