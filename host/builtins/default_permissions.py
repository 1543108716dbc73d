"""The built-in permission policy, read from the `permission` block of the config.

- Admins (`permission.admins`: user names, or `group:<name>`) may do everything.
- A rule in `permission.rules` allows its actions to the users, groups and service subjects it
  names; an action ending in `.*` allows a whole family.
- With no rules at all, any signed-in user may take the actions that backend plugins declare in
  `default_user_actions` (for Spacelift: read and trigger, as with the official plugin).
- Once rules exist, they grant everything beyond reading: a signed-in user keeps the `.read`
  actions of `default_user_actions`, and needs a rule for the rest.
- A service token may only take those `.read` actions, unless a rule names its subject.
"""

from __future__ import annotations

from typing import Any

from host.auth import Principal
from host.hookspecs import hookimpl
from host.plugins import Host


def _matches(action: str, allowed: list[str]) -> bool:
    for pattern in allowed:
        if pattern == action or pattern == "*":
            return True
        if pattern.endswith(".*") and action.startswith(pattern[:-1]):
            return True
    return False


def is_admin(host: Host, principal: Principal | None) -> bool:
    if principal is None or principal.kind != "user" or host.config is None:
        return False
    admins = host.config.peek("permission.admins") or []
    return principal.name in admins or any(f"group:{g}" in admins for g in principal.groups)


@hookimpl(trylast=True)
def permission_allowed(
    host: Host, principal: Principal | None, action: str, resource: Any
) -> bool | None:
    if principal is None or host.config is None:
        return False
    if is_admin(host, principal):
        return True
    rules = host.config.peek("permission.rules") or []
    for rule in rules:
        if principal.kind == "user":
            named = principal.name in (rule.get("users") or []) or bool(
                principal.groups & set(rule.get("groups") or [])
            )
        else:
            named = principal.name in (rule.get("subjects") or [])
        if named and _matches(action, rule.get("allow") or []):
            return True
    defaults = {a for bp in host.backends.values() for a in bp.default_user_actions}
    if action in defaults and action.endswith(".read"):
        return True
    return principal.kind == "user" and not rules and action in defaults
