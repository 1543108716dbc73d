"""The built-in permission policy, the permission_allowed hook, and admin-only pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint

from host import BackendPlugin, FrontendPlugin, Principal, hookimpl
from host.testing import make_app, sign_in


class Actions:
    """A backend declaring defaults like Spacelift's: read and trigger."""

    __name__ = "actions"

    @hookimpl
    def register_backend_plugins(self, host: Any) -> list[BackendPlugin]:
        return [BackendPlugin(id="ops", setup=lambda ctx: Blueprint("ops", __name__),
                              default_user_actions=("ops.stack.read", "ops.run.trigger"))]


def user(name: str, *groups: str) -> Principal:
    return Principal(kind="user", name=name, groups=frozenset(groups))


def service(subject: str) -> Principal:
    return Principal(kind="service", name=subject, via="token")


ACTIONS = ["ops.stack.read", "ops.run.trigger", "ops.run.confirm", "host.admin"]


def decisions(config: dict, principal: Principal) -> dict[str, bool]:
    host = make_app({"permission": {"admins": [], **config}}, plugins=[Actions()]).extensions["greenroom"]
    return {a: host.authorize(principal, a) for a in ACTIONS}


def test_without_rules_users_read_and_trigger_services_only_read():
    assert decisions({}, user("ann")) == {
        "ops.stack.read": True, "ops.run.trigger": True, "ops.run.confirm": False, "host.admin": False}
    assert decisions({}, service("ci")) == {
        "ops.stack.read": True, "ops.run.trigger": False, "ops.run.confirm": False, "host.admin": False}
    assert decisions({}, None) == dict.fromkeys(ACTIONS, False)


def test_admins_by_name_or_group_may_do_everything():
    assert all(decisions({"admins": ["ann"]}, user("ann")).values())
    assert all(decisions({"admins": ["group:platform"]}, user("bob", "platform")).values())
    assert not decisions({"admins": ["group:platform"]}, user("bob", "web"))["host.admin"]
    assert not decisions({"admins": ["ci"]}, service("ci"))["host.admin"]  # admins are users


RULES = {"rules": [
    {"users": ["tara"], "allow": ["ops.run.trigger"]},
    {"groups": ["sre"], "allow": ["ops.run.*"]},
    {"subjects": ["deploy-bot"], "allow": ["ops.run.trigger"]},
]}


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (user("vic"), [True, False, False, False]),  # a viewer: reading only
        (user("tara"), [True, True, False, False]),  # may trigger only
        (user("sam", "sre"), [True, True, True, False]),  # a family of actions by group
        (service("ci"), [True, False, False, False]),  # unnamed service: read only
        (service("deploy-bot"), [True, True, False, False]),  # named service
    ],
)
def test_rules_grant_beyond_reading(principal, expected):
    assert list(decisions(RULES, principal).values()) == expected


class DenyAll:
    __name__ = "deny-all"

    @hookimpl
    def permission_allowed(self, principal, action):
        return False if action != "host.admin" else None


def test_a_plugin_can_replace_the_policy():
    host = make_app(plugins=[Actions(), DenyAll()]).extensions["greenroom"]
    assert host.authorize(user("guest"), "ops.stack.read") is False
    assert host.authorize(user("guest"), "host.admin") is True  # no opinion: built-in decides


class WithAdminPage:
    __name__ = "with-admin"

    @hookimpl
    def register_frontend_plugins(self, host: Any) -> list[FrontendPlugin]:
        def admin(ctx: Any) -> Blueprint:
            bp = Blueprint("settings", __name__)
            bp.add_url_rule("/", "index", lambda: "settings of " + ctx.id)
            return bp

        return [FrontendPlugin(id="gizmo", setup=lambda ctx: Blueprint("g", __name__),
                               admin_setup=admin, admin_title="Gizmo connection")]


def test_admin_pages_are_for_admins_only():
    admin_app = make_app(plugins=[WithAdminPage()])
    admin = admin_app.test_client()
    sign_in(admin)
    assert admin.get("/administration/gizmo/").get_data(as_text=True) == "settings of gizmo"
    assert 'href="/administration/gizmo/">Gizmo connection' in admin.get("/").get_data(as_text=True)
    viewer_app = make_app({"permission": {"admins": []}}, plugins=[WithAdminPage()])
    viewer = viewer_app.test_client()
    sign_in(viewer)
    assert viewer.get("/administration/gizmo/").status_code == 403
    assert "/administration/gizmo/" not in viewer.get("/").get_data(as_text=True)
    anonymous = viewer_app.test_client().get("/administration/gizmo/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
