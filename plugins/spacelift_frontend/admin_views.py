"""The Spacelift connection page at /administration/spacelift/ (admins only; the host checks).

A form over the backend's admin API: it saves, tests and reverts through ctx.api, renders the
backend's messages beside the fields (the one hostUrl parser lives in the backend), and never
renders the secret back: its field is always empty, and blank keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from host import ApiResponse, PluginContext
from spacelift_frontend import presentation as p

BACKEND = "spacelift"
DONE = {
    "saved": "Saved. Every page uses the new connection from now on; no restart is needed.",
    "reverted": "The saved connection is gone: app-config.yaml is in effect again.",
}


def make_admin_blueprint(ctx: PluginContext) -> Blueprint:
    bp = Blueprint("spacelift_admin", __name__, template_folder="templates")

    @bp.route("/", methods=["GET", "POST"])
    def index() -> Any:
        current = ctx.api.get(BACKEND, "/admin/settings")
        view = current.json if current.ok else None
        in_effect = (view or {}).get("inEffect") or {}
        form = {"hostUrl": in_effect.get("hostUrl") or "", "apiKey": in_effect.get("apiKey") or "",
                "readOnly": bool(in_effect.get("readOnly"))}  # fmt: skip
        errors: dict[str, str] = {}
        error, test, status = (None if current.ok else _error(current)), None, 200
        if request.method == "POST":
            form = {
                "hostUrl": request.form.get("hostUrl", "").strip(),
                "apiKey": request.form.get("apiKey", "").strip(),
                "readOnly": request.form.get("readOnly") == "on",
            }
            body = {**form, "apiSecret": request.form.get("apiSecret", "")}
            intent = request.form.get("intent", "save")
            if intent == "revert":
                answer = ctx.api.request("DELETE", BACKEND, "/admin/settings")
            elif intent == "test":
                answer = ctx.api.post(BACKEND, "/admin/test-connection", json=body)
            else:
                answer = ctx.api.request("PUT", BACKEND, "/admin/settings", json=body)
            if answer.ok and intent in ("save", "revert"):
                done = "reverted" if intent == "revert" else "saved"
                return redirect(url_for(".index", done=done))
            if answer.ok:
                test = answer.json
            elif answer.status == 422:
                errors = dict((answer.error or {}).get("fields") or {})
                status = 422
            else:
                error, status = _error(answer), answer.status
        connection = ctx.api.get(BACKEND, "/status")
        # A secret typed into a form that comes back (a test, a refusal) is not in it any more:
        # say so, or "Save" would keep the stored secret instead of the one just tested.
        retype = request.method == "POST" and bool(request.form.get("apiSecret"))
        return render_template(
            "spacelift/admin.html", view=view, form=form, errors=errors, error=error, test=test,
            done=DONE.get(request.args.get("done", "")), p=p, retype_secret=retype,
            status=connection.json if connection.ok else None,
        ), status  # fmt: skip

    return bp


def _error(answer: ApiResponse) -> dict[str, Any]:
    return answer.error or {"code": "error", "message": f"the Spacelift backend answered {answer.status}"}
