"""The GraphQL schema (SDL in schema.graphql) with the simulator's resolvers bound to it."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
)

from .model import STACK_STATES, SimError
from .world import STATE_NAME, World

log = logging.getLogger("spacelift_sim")

SDL = resources.files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")


@dataclass
class RequestContext:
    """What resolvers know about the request: the world and who is asking (None = anonymous)."""

    world: World
    claims: dict | None
    token: str | None
    audience: str

    @property
    def user(self) -> str:
        if self.claims is None:
            raise SimError("unauthorized")
        return str(self.claims.get("name") or self.claims.get("sub"))


def guarded(resolver):
    """Turn unexpected exceptions into a generic GraphQL error (logged), never a traceback."""

    @functools.wraps(resolver)
    def wrapper(*args, **kwargs):
        try:
            return resolver(*args, **kwargs)
        except (GraphQLError, SimError):
            raise
        except Exception as exc:  # the one place that catches everything
            log.exception("resolver %s failed", resolver.__name__)
            raise GraphQLError("internal server error") from exc

    return wrapper


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


def _signed_in(info: GraphQLResolveInfo) -> bool:
    return _ctx(info).claims is not None


# -- Query ------------------------------------------------------------------------------------


def q_stacks(_root, info):
    return _ctx(info).world.all_stacks() if _signed_in(info) else []


def q_stack(_root, info, id):
    return _ctx(info).world.stack(id) if _signed_in(info) else None


def q_search_stacks(_root, info, input):
    if not _signed_in(info):
        edges: list = []
        has_next = has_previous = False
    else:
        page, has_next, has_previous = _ctx(info).world.search_stacks(
            first=input.get("first"),
            after=input.get("after"),
            full_text=input.get("fullTextSearch"),
            predicates=input.get("predicates"),
            order_by=input.get("orderBy"),
        )
        edges = [{"node": stack, "cursor": cursor} for stack, cursor in page]
    return {
        "edges": edges,
        "pageInfo": {
            "endCursor": edges[-1]["cursor"] if edges else None,
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
        },
    }


def q_run_stack(_root, info, runId):
    stack = _ctx(info).world.stack_of_run(runId) if _signed_in(info) else None
    if stack is None:
        raise SimError("not found")
    return stack


def q_viewer(_root, info):
    ctx = _ctx(info)
    if ctx.claims is None:
        return None
    return {"id": ctx.world.tokens.key_id, "name": ctx.user, "jwt": ctx.token,
            "validUntil": ctx.claims["exp"]}  # fmt: skip


def q_spaces(_root, info):
    return list(_ctx(info).world.spaces.values()) if _signed_in(info) else []


def q_space(_root, info, id):
    return _ctx(info).world.spaces.get(id) if _signed_in(info) else None


# -- Mutation ---------------------------------------------------------------------------------


def m_api_key_user(_root, info, id, secret):
    ctx = _ctx(info)
    try:
        result = ctx.world.exchange_key(id, secret, ctx.audience)
    except ValueError as exc:
        raise SimError("unauthorized") from exc
    if result is None:
        return None
    jwt, valid_until = result
    return {"id": id, "name": ctx.world.tokens.user_name, "jwt": jwt, "validUntil": valid_until}


def m_run_trigger(_root, info, stack, commitSha=None, runType=None, runtimeConfig=None):
    ctx = _ctx(info)
    return ctx.world.trigger_run(stack, ctx.user, runType, commitSha)


def m_run_confirm(_root, info, stack, run=None, note=None):
    ctx = _ctx(info)
    return ctx.world.confirm_run(stack, run, ctx.user, note)


def m_run_discard(_root, info, stack, run=None, note=None):
    ctx = _ctx(info)
    return ctx.world.discard_run(stack, run, ctx.user, note)


def m_run_cancel(_root, info, stack, run, note=None):
    ctx = _ctx(info)
    return ctx.world.cancel_run(stack, run, ctx.user, note)


def m_run_stop(_root, info, stack, run, note=None):
    ctx = _ctx(info)
    return ctx.world.stop_run(stack, run, ctx.user, note)


def m_run_retry(_root, info, stack, run):
    ctx = _ctx(info)
    return ctx.world.retry_run(stack, run, ctx.user)


def m_task_create(_root, info, stack, command, skipInitialization=None):
    ctx = _ctx(info)
    return ctx.world.create_task(stack, ctx.user, command, bool(skipInitialization))


def m_stack_lock(_root, info, id, note=None):
    ctx = _ctx(info)
    return ctx.world.lock_stack(id, ctx.user, note)


def m_stack_unlock(_root, info, id):
    ctx = _ctx(info)
    return ctx.world.unlock_stack(id, ctx.user)


def m_stack_enable(_root, info, id):
    ctx = _ctx(info)
    ctx.user  # noqa: B018 - raises "unauthorized" for anonymous callers
    return ctx.world.set_disabled(id, False)


def m_stack_disable(_root, info, id):
    ctx = _ctx(info)
    ctx.user  # noqa: B018
    return ctx.world.set_disabled(id, True)


# -- Stack and Run ----------------------------------------------------------------------------


def stack_fields() -> dict[str, Any]:
    def world(info):
        return _ctx(info).world

    return {
        "spaceDetails": lambda s, info: world(info).spaces[s.space],
        "blocked": lambda s, info: world(info).blocker(s) is not None,
        "blocker": lambda s, info: world(info).blocker(s),
        "workerPool": lambda s, info: (
            world(info).worker_pools.get(s.worker_pool) if s.worker_pool else None
        ),
        "vendorConfig": lambda s, info: s.vendor,
        "repositoryURL": lambda s, info: s.repository_url,
        "apiHost": lambda s, info: s.api_host,
        "additionalProjectGlobs": lambda s, info: [],
        "canWrite": lambda s, info: _signed_in(info),
        "deleted": lambda s, info: False,
        "deleting": lambda s, info: False,
        "runs": lambda s, info, before=None: world(info).runs_page(
            s, ("TRACKED", "DESTROY"), before
        ),
        "proposedRuns": lambda s, info, before=None: world(info).runs_page(
            s, ("PROPOSED",), before
        ),
        "tasks": lambda s, info, before=None: world(info).runs_page(s, ("TASK",), before),
        "run": lambda s, info, id: world(info).run(s, id),
    }


def run_fields() -> dict[str, Any]:
    return {
        "isMostRecent": lambda r, info: _ctx(info).world.is_most_recent(r),
        "needsApproval": lambda r, info: False,
        "expectFailure": lambda r, info: None,
        "expired": lambda r, info: False,
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _attribute(name: str):
    def resolve(source, _info, **_args):
        return getattr(source, name)

    return resolve


def _vendor_field(name: str):
    def resolve(source, _info):
        return source.fields.get(name)

    return resolve


def _tolerant_stack_state(value: Any) -> str:
    """Known states as usual; any other upper-case name passes through, like a newer server's."""
    if isinstance(value, str) and (value in STACK_STATES or STATE_NAME.match(value)):
        return value
    raise GraphQLError(f"Enum 'StackState' cannot represent value: {value!r}")


def make_schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    roots = {
        "Query": {
            "stacks": q_stacks, "stack": q_stack, "searchStacks": q_search_stacks,
            "runStack": q_run_stack, "viewer": q_viewer, "spaces": q_spaces, "space": q_space,
        },
        "Mutation": {
            "apiKeyUser": m_api_key_user, "runTrigger": m_run_trigger,
            "runConfirm": m_run_confirm, "runDiscard": m_run_discard, "runCancel": m_run_cancel,
            "runStop": m_run_stop, "runRetry": m_run_retry, "taskCreate": m_task_create,
            "stackLock": m_stack_lock, "stackUnlock": m_stack_unlock,
            "stackEnable": m_stack_enable, "stackDisable": m_stack_disable,
        },
        "Stack": stack_fields(),
        "Run": run_fields(),
    }  # fmt: skip
    dict_sourced = {"User", "StackConnection", "StackEdge", "PageInfo"}
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        if type_name in dict_sourced:
            continue
        custom = roots.get(type_name, {})
        for field_name, field in graphql_type.fields.items():
            if field_name in custom:
                resolver = custom[field_name]
                field.resolve = guarded(resolver)
            elif type_name.startswith("StackConfigVendor"):
                field.resolve = _vendor_field(field_name)
            else:
                field.resolve = _attribute(_snake(field_name))
    union = schema.type_map["StackConfigVendor"]
    union.resolve_type = lambda vendor, _info, _type: vendor.typename  # type: ignore[attr-defined]
    state = schema.type_map["StackState"]
    assert isinstance(state, GraphQLEnumType)
    # graphql-core 3.3 calls coerce_output_value (serialize is its older name).
    state.serialize = _tolerant_stack_state  # type: ignore[method-assign]
    if hasattr(state, "coerce_output_value"):
        state.coerce_output_value = _tolerant_stack_state  # type: ignore[method-assign]
    return schema
