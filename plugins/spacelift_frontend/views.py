"""The Spacelift pages. Every page and fragment reads the backend's JSON API through `ctx.api`;
each view has one template, used for the first paint and for the live region's polls.

Whether Spacelift is configured, read-only, and what the user may do is the backend's word
(`spacelift_not_configured`, `canTrigger`, each run's `actions`): a connection saved on the
administration page changes all three without a restart.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, redirect, render_template, request, url_for

from host import ApiResponse, PluginContext, fragment_response
from spacelift_frontend import presentation as p

BACKEND = "spacelift"
NOT_CONFIGURED = "spacelift_not_configured"


def make_blueprint(ctx: PluginContext) -> Blueprint:
    bp = Blueprint("spacelift", __name__, template_folder="templates", static_folder="static")

    def interval() -> int:
        return int(ctx.config.get("pollIntervalSeconds") or 10)

    def common() -> dict[str, Any]:
        return {"p": p, "interval": interval()}

    def not_configured_page() -> Any:
        return render_template("spacelift/not_configured.html", **common()), 503

    # -- overview ----------------------------------------------------------------------------

    def overview_data(filters: p.Filters) -> dict[str, Any]:
        answer = ctx.api.get(BACKEND, "/stacks", params=filters.backend_params())
        data = answer.json if answer.ok else None
        return {"answer": answer, "data": data, "error": _error(answer), "filters": filters,
                "may_trigger": bool(data and data.get("canTrigger"))}  # fmt: skip

    @bp.get("/")
    def overview() -> Any:
        filters = p.Filters.from_args(request.args)
        view = overview_data(filters)
        if _not_configured(view["answer"]):
            return not_configured_page()
        return render_template(
            "spacelift/overview.html",
            fragment_url=url_for("spacelift.overview_fragment") + _qs(filters.query()),
            **view,
            **common(),
        )

    @bp.get("/fragments/overview")
    def overview_fragment() -> Any:
        view = overview_data(p.Filters.from_args(request.args))
        return _fragment("spacelift/_overview.html", view, **common())

    # -- stack -------------------------------------------------------------------------------

    def stack_data(stack_id: str, before: str | None) -> dict[str, Any]:
        path = f"/stacks/{quote(stack_id, safe='')}"
        stack = ctx.api.get(BACKEND, path)
        runs = ctx.api.get(BACKEND, path + "/runs", params={"before": before}) if stack.ok else None
        failed = stack if not stack.ok else (runs if runs is not None and not runs.ok else None)
        return {
            "answer": failed or stack,
            "stack": stack.json if stack.ok else None,
            "runs": runs.json if runs is not None and runs.ok else None,
            "before": before,
            "error": _error(failed) if failed is not None else _stale(stack),
            "may_trigger": bool(stack.ok and stack.json.get("canTrigger")),
        }

    @bp.get("/stacks/<stack_id>")
    def stack_page(stack_id: str) -> Any:
        before = request.args.get("before") or None
        view = stack_data(stack_id, before)
        if _not_configured(view["answer"]):
            return not_configured_page()
        if view["answer"].status == 404:
            abort(404, description=f"There is no stack {stack_id!r} in Spacelift.")
        fragment_url = url_for("spacelift.stack_fragment", stack_id=stack_id) + _qs(
            f"before={quote(before)}" if before else ""
        )
        return render_template("spacelift/stack.html", stack_id=stack_id,
                               fragment_url=fragment_url, **view, **common())  # fmt: skip

    @bp.get("/fragments/stacks/<stack_id>")
    def stack_fragment(stack_id: str) -> Any:
        view = stack_data(stack_id, request.args.get("before") or None)
        return _fragment("spacelift/_stack_live.html", view, stack_id=stack_id, **common())

    # -- run ---------------------------------------------------------------------------------

    def run_path(stack_id: str, run_id: str) -> str:
        return f"/stacks/{quote(stack_id, safe='')}/runs/{quote(run_id, safe='')}"

    def run_data(stack_id: str, run_id: str) -> dict[str, Any]:
        answer = ctx.api.get(BACKEND, run_path(stack_id, run_id))
        run = answer.json if answer.ok else None
        return {
            "answer": answer,
            "run": run,
            "timeline": p.timeline((run or {}).get("history") or []),
            "error": _error(answer) if not answer.ok else _stale(answer),
        }

    @bp.get("/stacks/<stack_id>/runs/<run_id>")
    def run_page(stack_id: str, run_id: str) -> Any:
        view = run_data(stack_id, run_id)
        if _not_configured(view["answer"]):
            return not_configured_page()
        if view["answer"].status == 404:
            abort(404, description=f"There is no run {run_id!r} on the stack {stack_id!r}.")
        done = request.args.get("done")
        return render_template(
            "spacelift/run.html", stack_id=stack_id, run_id=run_id,
            fragment_url=url_for("spacelift.run_fragment", stack_id=stack_id, run_id=run_id),
            done=p.ACTION_DONE.get(done or ""), **view, **common(),
        )  # fmt: skip

    @bp.get("/fragments/stacks/<stack_id>/runs/<run_id>")
    def run_fragment(stack_id: str, run_id: str) -> Any:
        view = run_data(stack_id, run_id)
        return _fragment("spacelift/_timeline.html", view, stack_id=stack_id, **common())

    # -- actions: the no-JavaScript path (spacelift.js uses a dialog and the API) -------------

    @bp.route("/stacks/<stack_id>/trigger", methods=["GET", "POST"])
    def trigger(stack_id: str) -> Any:
        stack = ctx.api.get(BACKEND, f"/stacks/{quote(stack_id, safe='')}")
        if _not_configured(stack):
            return not_configured_page()
        if stack.status == 404:
            abort(404, description=f"There is no stack {stack_id!r} in Spacelift.")
        if not (stack.ok and stack.json.get("canTrigger")):
            abort(403, description="Triggering runs is not allowed here (read-only mode or permissions).")
        error, status = None, 200
        if request.method == "POST":
            answer = ctx.api.post(BACKEND, f"/stacks/{quote(stack_id, safe='')}/trigger")
            if answer.ok:
                return redirect(url_for("spacelift.run_page", stack_id=stack_id, run_id=answer.json["id"]))
            error, status = _error(answer), answer.status
        return render_template("spacelift/trigger.html", stack=stack.json, stack_id=stack_id,
                               error=error, **common()), status  # fmt: skip

    @bp.route("/stacks/<stack_id>/runs/<run_id>/<any(confirm, discard, cancel, retry):action>",
              methods=["GET", "POST"])  # fmt: skip
    def run_action(stack_id: str, run_id: str, action: str) -> Any:
        answer = ctx.api.get(BACKEND, run_path(stack_id, run_id))
        if _not_configured(answer):
            return not_configured_page()
        if answer.status == 404:
            abort(404, description=f"There is no run {run_id!r} on the stack {stack_id!r}.")
        run = answer.json if answer.ok else None
        error, status = (_error(answer), answer.status) if run is None else (None, 200)
        if request.method == "POST":
            done = ctx.api.post(BACKEND, run_path(stack_id, run_id) + f"/{action}")
            if done.ok:
                target = done.json["id"] if action == "retry" else run_id
                return redirect(url_for("spacelift.run_page", stack_id=stack_id,
                                        run_id=target, done=action))  # fmt: skip
            error, status = _error(done), done.status
        elif run is not None and action not in run.get("actions", []):
            error = {"message": p.not_offered(action, run)}
            status = 409
        return render_template("spacelift/run_action.html", stack_id=stack_id, run_id=run_id,
                               run=run, action=action, error=error, **common()), status  # fmt: skip

    # -- the audit trail (admins) ------------------------------------------------------------

    @bp.get("/audit")
    def audit() -> Any:
        if not ctx.authorize("host.admin"):
            abort(403, description="Only admins may read the audit trail.")
        filters = p.AuditFilters.from_args(request.args)
        answer = ctx.api.get(BACKEND, "/audit", params=filters.backend_params())
        if answer.status == 403:
            abort(403, description="Only admins may read the audit trail.")
        data = answer.json if answer.ok else None
        pages = max(1, -(-data["total"] // data["perPage"])) if data else 1
        return render_template("spacelift/audit.html", data=data, error=_error(answer),
                               filters=filters, pages=pages,
                               **common()), (200 if answer.ok else answer.status)  # fmt: skip

    return bp


def _qs(query: str) -> str:
    return f"?{query}" if query else ""


def _not_configured(answer: ApiResponse) -> bool:
    """The backend's word: neither app-config.yaml nor the administration page gives a
    connection."""
    return answer.status == 503 and (answer.error or {}).get("code") == NOT_CONFIGURED


def _error(answer: ApiResponse) -> dict[str, Any] | None:
    """The backend's error object, for the banner (code, message, hint)."""
    if answer.ok:
        return _stale(answer)
    return answer.error or {"code": "error", "message": f"the Spacelift backend answered {answer.status}"}


def _stale(answer: ApiResponse) -> dict[str, Any] | None:
    """A good answer served from the last success while Spacelift fails: its error, marked stale."""
    body = answer.json if isinstance(answer.json, dict) else {}
    if body.get("stale"):
        error = dict(body.get("error") or {"message": "Spacelift did not answer"})
        error["stale"] = True
        error["fetchedAt"] = body.get("fetchedAt")
        return error
    return None


def _fragment(template: str, view: dict[str, Any], **context: Any) -> Any:
    """A live fragment; when the backend failed with nothing to show, a non-2xx banner that the
    poller puts above the content it keeps."""
    if view.get("error") and not view["error"].get("stale") and view["answer"].status >= 400:
        status = view["answer"].status if view["answer"].status >= 500 else 502
        return fragment_response("spacelift/_banner.html", status=status, error=view["error"], **context)
    return fragment_response(template, **view, **context)
