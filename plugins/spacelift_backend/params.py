"""Query and path parameters, checked at the edge: every problem is a 422 naming its parameter.

Free-text filters treat an empty value as "no filter"; every other parameter is absent or valid.
The same rules are written as schemas in openapi.py.
"""

from __future__ import annotations

import re

from flask import request

from spacelift_backend.errors import invalid_parameter

STACK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
RUN_ID = re.compile(r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}")  # a ULID
MAX_TEXT = 200


def arg(name: str) -> str | None:
    return request.args.get(name)


def text_arg(name: str) -> str | None:
    value = arg(name)
    if value is not None and len(value) > MAX_TEXT:
        raise invalid_parameter(name, f"must be at most {MAX_TEXT} characters long")
    return value or None


def int_arg(name: str, default: int, low: int, high: int) -> int:
    value = arg(name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value) or not low <= int(value) <= high:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    return int(value)


def choice_arg(name: str, choices: tuple[str, ...], default: str) -> str:
    value = arg(name)
    if value is None:
        return default
    if value not in choices:
        raise invalid_parameter(name, f"must be one of {', '.join(choices)}")
    return value


def check_stack_id(value: str) -> str:
    if not STACK_ID.fullmatch(value):
        raise invalid_parameter(
            "stackId", "must be a Spacelift stack id (letters, digits, '-', '_' and '.')"
        )
    return value


def check_run_id(name: str, value: str) -> str:
    if not RUN_ID.fullmatch(value):
        raise invalid_parameter(name, "must be a Spacelift run id (a 26-character ULID)")
    return value.upper()
