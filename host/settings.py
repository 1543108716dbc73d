"""The host's own configuration schema (plugins bring theirs)."""

from __future__ import annotations

import re
from typing import Any

from host.config import Field

_TOKEN_WHITESPACE = re.compile(r"\s")


def _static_token(value: str) -> str:
    if len(value) < 16:
        raise ValueError("a static token must be at least 16 characters long")
    if _TOKEN_WHITESPACE.search(value):
        raise ValueError("a static token must not contain whitespace")
    return value


def _base_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an absolute http:// or https:// URL, such as http://localhost:7007")
    return value.rstrip("/")


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379/0")
    return value


STR_LIST = Field(list, items=Field(str), default=[])

EXTERNAL_ACCESS = Field(
    dict,
    schema={
        "type": Field(str, required=True, choices=["static"], description="only static tokens"),
        "options": Field(
            dict,
            required=True,
            schema={
                "token": Field(str, required=True, secret=True, validate=_static_token),
                "subject": Field(str, required=True, description="the service's name"),
            },
        ),
        "accessRestrictions": Field(
            list,
            items=Field(dict, schema={"plugin": Field(str, required=True)}),
            description="plugin ids this token may call; absent means every plugin",
        ),
    },
)

HOST_SCHEMA: dict[str, Field] = {
    "app": Field(
        dict,
        schema={
            "title": Field(str, default="Greenroom"),
            "baseUrl": Field(str, default="http://localhost:7007", validate=_base_url),
            "environment": Field(str, default="production", choices=["production", "development"]),
        },
    ),
    "backend": Field(
        dict,
        schema={
            "secret": Field(str, secret=True, description="signs sessions and internal tokens"),
            "listen": Field(
                dict,
                schema={
                    "host": Field(str, default="127.0.0.1"),
                    "port": Field(int, default=7007, min=0, max=65535),
                },
            ),
            "maxRequestBytes": Field(int, default=1048576, min=1024),
            "auth": Field(
                dict,
                schema={"externalAccess": Field(list, items=EXTERNAL_ACCESS, default=[])},
            ),
            "cache": Field(
                dict,
                schema={
                    "store": Field(str, default="memory", choices=["memory", "redis"]),
                    "connection": Field(str, secret=True, validate=_redis_url),
                    "defaultTtlSeconds": Field(int, default=300, min=1),
                },
            ),
            "database": Field(
                dict,
                schema={"connection": Field(str, secret=True, description="an SQLAlchemy URL")},
            ),
        },
    ),
    "auth": Field(
        dict,
        schema={
            "providers": Field(
                dict,
                schema={
                    "guest": Field(
                        dict,
                        default=None,  # absent: provider off
                        schema={
                            "userName": Field(str, default="guest"),
                            "groups": STR_LIST,
                            "dangerouslyAllowOutsideDevelopment": Field(bool, default=False),
                        },
                    ),
                    "password": Field(
                        dict,
                        default=None,  # absent: provider off
                        schema={
                            "users": Field(
                                dict,
                                default={},
                                values=Field(
                                    dict,
                                    schema={
                                        "passwordHash": Field(str, required=True, secret=True),
                                        "groups": STR_LIST,
                                        "displayName": Field(str),
                                    },
                                ),
                            )
                        },
                    ),
                    "proxy": Field(
                        dict,
                        default=None,  # absent: provider off
                        schema={
                            "header": Field(str, default="X-Forwarded-User"),
                            "groupsHeader": Field(str),
                            "trustedProxies": Field(list, items=Field(str), default=["127.0.0.1"]),
                        },
                    ),
                },
            ),
            "session": Field(dict, schema={"maxAgeHours": Field(int, default=12, min=1)}),
            "throttle": Field(
                dict,
                schema={
                    "maxFailures": Field(int, default=5, min=1),
                    "windowSeconds": Field(int, default=300, min=1),
                },
            ),
        },
    ),
    "plugins": Field(dict, schema={"disabled": STR_LIST}),
    "permission": Field(
        dict,
        schema={
            "admins": STR_LIST,
            "rules": Field(
                list,
                default=[],
                items=Field(
                    dict,
                    schema={
                        "users": STR_LIST,
                        "groups": STR_LIST,
                        "subjects": STR_LIST,
                        "allow": Field(list, items=Field(str), required=True),
                    },
                ),
            ),
        },
    ),
}


def providers(config: Any) -> dict[str, Any]:
    """The configured sign-in providers (only those present in config)."""
    return dict(config.get("auth.providers") or {})
