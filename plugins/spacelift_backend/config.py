"""The `spacelift` config block: its schema, `hostUrl` validation, and the settings read from it.

The block is the one Backstage users already have (`hostUrl`, `apiKey`, `apiSecret`, `readOnly`)
plus optional keys with defaults. The block itself is optional: without it the plugin runs in
"not configured" mode (see `Settings.configured`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from host import Field

DEFAULT_POLL_INTERVAL = 10
DEFAULT_CACHE_TTL = 5.0
DEFAULT_REQUEST_TIMEOUT = 10.0

_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True)
class HostUrl:
    """A parsed `hostUrl`: where Spacelift lives, and what was tolerated on the way."""

    host: str  # a name or an IP address, without brackets
    port: int | None
    scheme: str  # "https", or "http" for a loopback host
    warnings: tuple[str, ...] = ()

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host

    @property
    def base_url(self) -> str:
        """The account URL, e.g. https://acme.app.spacelift.io: the root of the deep links."""
        return f"{self.scheme}://{self.netloc}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: the only hosts plain http may reach."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_host_url(value: str) -> HostUrl:
    """Parse `hostUrl`: bare `host[:port]`, as Backstage users write it.

    A leading `https://` is tolerated (with a warning); `http://` only for a loopback host,
    which is also reached over http when no scheme is given (the simulator). A path, a query,
    credentials or spaces raise ValueError with the message shown by `greenroom config check`.
    """
    text = value.strip()
    if not text:
        raise ValueError("must not be empty: write your Spacelift host, such as acme.app.spacelift.io")
    if re.search(r"\s", text):
        raise ValueError(
            "must not contain spaces: write the bare host, such as acme.app.spacelift.io"
        )
    warnings: list[str] = []
    explicit: str | None = None
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if match:
        explicit = match.group(1).lower()
        if explicit not in ("http", "https"):
            raise ValueError(
                f'"{match.group(1)}://" is not supported: write the bare host, such as '
                "acme.app.spacelift.io"
            )
        text = text[match.end() :]
    parts = urlsplit("//" + text)
    if parts.query or "?" in text:
        raise ValueError("must not contain a query string (?...): write the bare host")
    if parts.fragment or "#" in text:
        raise ValueError("must not contain a fragment (#...): write the bare host")
    if parts.path not in ("", "/"):
        raise ValueError(
            f'must not contain a path ("{parts.path}"): write the bare host; '
            "Greenroom adds /graphql itself"
        )
    if "@" in parts.netloc:
        raise ValueError("must not contain credentials (user@): put the key in apiKey and apiSecret")
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise ValueError("the port must be a number between 1 and 65535") from exc
    if port == 0:
        raise ValueError("the port must be a number between 1 and 65535")
    if not host or not _valid_host(host):
        raise ValueError(f'"{parts.netloc}" is not a valid host name or address')
    loopback = is_loopback(host)
    if explicit == "http" and not loopback:
        raise ValueError(
            "http:// is allowed only for a loopback host (127.0.0.1, ::1 or localhost); "
            "write the bare host to use https"
        )
    if explicit == "https" and not loopback:
        # (on a loopback host the prefix matters: without it, plain http is used)
        warnings.append(
            'spacelift.hostUrl: the "https://" prefix is not needed and was dropped '
            f"(write {_netloc(host, port)})"
        )
    scheme = explicit or ("http" if loopback else "https")
    return HostUrl(host=host, port=port, scheme=scheme, warnings=tuple(warnings))


def _netloc(host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def _check_host_url(value: str) -> str:
    parse_host_url(value)
    return value.strip()


def _check_proxy(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
        raise ValueError("must be a proxy URL such as http://proxy.internal:3128")
    return value.strip()


def _check_ca_bundle(value: str) -> str:
    if not os.path.isfile(value):
        raise ValueError(f"no such file: {value} (a PEM file of the CA certificates to trust)")
    return value


SCHEMA: dict[str, Field] = {
    "hostUrl": Field(
        str,
        required=True,
        validate=_check_host_url,
        description="Your Spacelift host without https://, such as acme.app.spacelift.io.",
    ),
    "apiKey": Field(str, required=True, min=1, description="The API key id (not secret)."),
    "apiSecret": Field(str, required=True, secret=True, min=1, description="The API key secret."),
    "readOnly": Field(bool, default=False, description="Refuse actions such as triggering runs."),
    "pollIntervalSeconds": Field(
        int, default=DEFAULT_POLL_INTERVAL, min=1, max=3600,
        description="How often pages refresh their live regions (the frontend reads it).",
    ),
    "cacheTtlSeconds": Field(
        float, default=DEFAULT_CACHE_TTL, min=0.1, max=3600,
        description="How long an upstream answer is reused before Spacelift is asked again.",
    ),
    "requestTimeoutSeconds": Field(
        float, default=DEFAULT_REQUEST_TIMEOUT, min=0.1, max=300,
        description="How long one call to Spacelift may take.",
    ),
    "proxy": Field(str, validate=_check_proxy, description="An https proxy URL for Spacelift calls."),
    "caBundle": Field(
        str, validate=_check_ca_bundle, description="A PEM file of CAs to trust for Spacelift."
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """What the plugin reads from its config block, with defaults applied."""

    configured: bool
    host_url: HostUrl | None = None
    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    read_only: bool = False
    poll_interval: int = DEFAULT_POLL_INTERVAL
    cache_ttl: float = DEFAULT_CACHE_TTL
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    proxy: str | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Settings:
        """Settings from the validated block; an empty or absent block is "not configured"."""
        if not config or not config.get("hostUrl"):
            return cls(configured=False)
        return cls(
            configured=True,
            host_url=parse_host_url(config.get("hostUrl")),
            api_key=str(config.get("apiKey") or ""),
            api_secret=str(config.get("apiSecret") or ""),
            read_only=bool(config.get("readOnly", False)),
            poll_interval=int(config.get("pollIntervalSeconds", DEFAULT_POLL_INTERVAL)),
            cache_ttl=float(config.get("cacheTtlSeconds", DEFAULT_CACHE_TTL)),
            request_timeout=float(config.get("requestTimeoutSeconds", DEFAULT_REQUEST_TIMEOUT)),
            proxy=config.get("proxy") or None,
            ca_bundle=config.get("caBundle") or None,
        )

    def with_connection(
        self, host_url: str, api_key: str, api_secret: str, read_only: bool
    ) -> Settings:
        """These settings pointed at another connection (one saved on the administration
        page); the other keys (timeouts, proxy, poll interval) stay. Raises ValueError for a
        bad `host_url`, with the same message as the config check."""
        return replace(
            self,
            configured=True,
            host_url=parse_host_url(host_url),
            api_key=api_key,
            api_secret=api_secret,
            read_only=read_only,
        )

    @property
    def proxies(self) -> dict[str, str] | None:
        return {"https": self.proxy, "http": self.proxy} if self.proxy else None

    @property
    def verify(self) -> bool | str:
        return self.ca_bundle or True
