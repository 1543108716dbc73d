"""Entry point of the Spacelift frontend plugin: it only declares; the pages are in views.py."""

from __future__ import annotations

from typing import Any

from host import FrontendPlugin, NavItem, hookimpl
from spacelift_frontend.admin_views import make_admin_blueprint
from spacelift_frontend.views import make_blueprint


@hookimpl
def register_frontend_plugins(host: Any) -> list[FrontendPlugin]:
    return [
        FrontendPlugin(
            id="spacelift",
            setup=make_blueprint,
            nav=(
                NavItem(
                    "Spacelift",
                    "spacelift.overview",
                    icon="cloud",
                    order=10,
                    description="Infrastructure stacks and runs: state, history, health.",
                ),
            ),
            backend="spacelift",
            admin_setup=make_admin_blueprint,
            admin_title="Spacelift connection",
        )
    ]
