"""A frontend plugin whose live region the tests control: its value, delay and failures."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, render_template_string

from host import FrontendPlugin, NavItem, fragment_response, hookimpl

PAGE = """{% extends "host/base.html" %}{% from "host/_live.html" import live_region %}
{% block content %}<h1>Live test</h1>
{% call live_region(url_for("livetest.fragment"), interval=interval, label="Test value") %}
<p data-testid="value">{{ value }}</p>{% endcall %}{% endblock %}"""


@dataclass
class LiveState:
    """What the fragment answers, and what the server saw."""

    value: str = "one"
    interval: float = 0.5
    delay: float = 0.0
    fail_status: int | None = None
    requests: int = 0
    not_modified: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class LivePlugin:
    __name__ = "livetest"

    def __init__(self, state: LiveState):
        self.state = state

    @hookimpl
    def register_frontend_plugins(self, host: Any) -> list[FrontendPlugin]:
        return [FrontendPlugin(id="livetest", setup=self.setup,
                               nav=(NavItem("Live test", "livetest.index"),))]

    def setup(self, ctx: Any) -> Blueprint:
        bp = Blueprint("livetest", __name__, template_folder="templates")
        state = self.state

        @bp.get("/")
        def index() -> Any:
            return render_template_string(PAGE, value=state.value, interval=state.interval)

        @bp.get("/fragments/value")
        def fragment() -> Any:
            with state.lock:
                state.requests += 1
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                state.times.append(time.monotonic())
            try:
                if state.delay:
                    time.sleep(state.delay)
                if state.fail_status:
                    return "<p>broken</p>", state.fail_status
                response = fragment_response("livetest/_value.html", value=state.value)
                if response.status_code == 304:
                    with state.lock:
                        state.not_modified += 1
                return response
            finally:
                with state.lock:
                    state.in_flight -= 1

        return bp
