"""Live regions, server side: render a fragment and answer `If-None-Match` with 304.

In a template, wrap polled content with the `live_region` macro from "host/_live.html":

    {% from "host/_live.html" import live_region %}
    {% call live_region(url_for("hello.greeting_fragment"), interval=10) %}
      {% include "hello/_greeting.html" %}
    {% endcall %}

and serve the fragment URL with `fragment_response("hello/_greeting.html", ...)`, so the first
paint and every poll come from the same template.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, render_template, request


def live_etag(body: str) -> str:
    """The ETag of fragment content; surrounding whitespace does not count.

    The `live_region` macro stamps the first paint with it, so the very first poll of unchanged
    content is already a 304.
    """
    return hashlib.sha256(body.strip().encode()).hexdigest()[:32]


def fragment_response(template_name: str, status: int = 200, **context: Any) -> Response:
    """Render `template_name` as a fragment with a strong ETag; 304 with no body if unchanged."""
    body = render_template(template_name, **context)
    response = Response(body, status=status, mimetype="text/html")
    response.set_etag(live_etag(body))
    response.headers["Cache-Control"] = "no-cache, private"
    response.vary.add("Cookie")
    if status == 200:
        response.make_conditional(request)
    return response
