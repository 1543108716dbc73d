"""Runs move through Spacelift's state machine (reference 9.3); mutations respect it."""

from __future__ import annotations

import itertools

import pytest
import requests
from gql.transport.exceptions import TransportQueryError

from spacelift_sim import World, create_app
from spacelift_sim.testing import execute, fetch_token, gql_client, run_in_state, run_in_thread

RUN = "id state type triggeredBy finished delta { addCount changeCount deleteCount resources }"
STACK_QUERY = f"""query($id: ID!) {{ stack(id: $id) {{
    id state stateSetAt blocked blocker {{ id state }} isDisabled lockedBy lockNote
    trackedCommit {{ hash }}
    runs {{ {RUN} isMostRecent history {{ state note username terminal }} }} }} }}"""
TRIGGER = f"mutation($s: ID!, $t: RunType) {{ runTrigger(stack: $s, runType: $t) {{ {RUN} }} }}"
CONFIRM = "mutation($s: ID!, $r: ID, $n: String) { runConfirm(stack: $s, run: $r, note: $n) { id state } }"
DISCARD = "mutation($s: ID!, $r: ID, $n: String) { runDiscard(stack: $s, run: $r, note: $n) { id state } }"
CANCEL = "mutation($s: ID!, $r: ID!, $n: String) { runCancel(stack: $s, run: $r, note: $n) { id state } }"
STOP = (
    "mutation($s: ID!, $r: ID!, $n: String) { runStop(stack: $s, run: $r, note: $n) { id state } }"
)
RETRY = "mutation($s: ID!, $r: ID!) { runRetry(stack: $s, run: $r) { id state type } }"

_names = itertools.count()


@pytest.fixture(scope="module")
def world():
    return World(stacks=12, seed=5, activity=0)


@pytest.fixture(scope="module")
def server(world):
    handle = run_in_thread(create_app(world))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def client(server):
    return gql_client(server.graphql_url, fetch_token(server.graphql_url))


@pytest.fixture
def fresh(world):
    """A new stack with no runs, manual approval, and scripted outcomes."""

    def make(outcomes=("changes",), **fields):
        stack_id = f"sm-test-{next(_names)}"
        world.upsert_stack(
            {"id": stack_id, "autodeploy": False, "nextOutcomes": list(outcomes), **fields}
        )
        return stack_id

    return make


def stack(client, stack_id):
    return execute(client, STACK_QUERY, id=stack_id)["stack"]


def tick(server, steps=1):
    answer = requests.post(f"{server.url}/_sim/tick", json={"steps": steps}, timeout=30)
    assert answer.status_code == 200
    return answer.json()


def run_state(client, stack_id, run_id):
    doc = "query($s: ID!, $r: ID!) { stack(id: $s) { run(id: $r) { state } } }"
    return execute(client, doc, s=stack_id, r=run_id)["stack"]["run"]["state"]


def test_trigger_plan_confirm_apply_finish(client, server, fresh):
    stack_id = fresh(["changes"])
    assert stack(client, stack_id)["state"] == "NONE"
    run = execute(client, TRIGGER, s=stack_id)["runTrigger"]
    assert run["state"] == "QUEUED" and run["type"] == "TRACKED" and run["delta"] is None
    assert run["triggeredBy"] == "sim-api-key"
    assert stack(client, stack_id)["state"] == "NONE"  # QUEUED does not set the stack state

    seen = []
    for _ in range(5):
        tick(server)
        seen.append(run_state(client, stack_id, run["id"]))
    assert seen == ["READY", "PREPARING", "INITIALIZING", "PLANNING", "UNCONFIRMED"]
    tick(server, 3)
    current = stack(client, stack_id)
    assert current["state"] == "UNCONFIRMED"  # it waits for a human
    assert current["blocked"] and current["blocker"]["id"] == run["id"]
    assert current["runs"][0]["delta"]["addCount"] + current["runs"][0]["delta"]["changeCount"] > 0

    confirmed = execute(client, CONFIRM, s=stack_id, n="via Greenroom by alice")["runConfirm"]
    assert confirmed == {"id": run["id"], "state": "CONFIRMED"}
    seen = []
    for _ in range(3):
        tick(server)
        seen.append(run_state(client, stack_id, run["id"]))
    assert seen == ["PREPARING_APPLY", "APPLYING", "FINISHED"]

    done = stack(client, stack_id)
    assert done["state"] == "FINISHED" and not done["blocked"] and done["blocker"] is None
    latest = done["runs"][0]
    assert latest["finished"] and latest["isMostRecent"]
    assert latest["history"][0]["terminal"]
    states = [h["state"] for h in reversed(latest["history"])]
    assert states == ["QUEUED", "READY", "PREPARING", "INITIALIZING", "PLANNING", "UNCONFIRMED",
                      "CONFIRMED", "PREPARING_APPLY", "APPLYING", "FINISHED"]  # fmt: skip
    confirm_step = next(h for h in latest["history"] if h["state"] == "CONFIRMED")
    assert confirm_step["note"] == "via Greenroom by alice"
    assert confirm_step["username"] == "sim-api-key"
    assert done["trackedCommit"]["hash"]


def test_autodeploy_noop_and_failures(client, world, fresh):
    auto = fresh(["changes"], autodeploy=True)
    run = execute(client, TRIGGER, s=auto)["runTrigger"]
    world.tick(5)
    assert run_state(client, auto, run["id"]) == "APPLYING"
    world.tick(1)
    assert stack(client, auto)["state"] == "FINISHED"

    noop = fresh(["noop"])
    run = execute(client, TRIGGER, s=noop)["runTrigger"]
    world.tick(5)
    finished = stack(client, noop)
    assert finished["state"] == "FINISHED"
    assert finished["runs"][0]["delta"] == {"addCount": 0, "changeCount": 0, "deleteCount": 0,
                                            "resources": finished["runs"][0]["delta"]["resources"]}  # fmt: skip

    failing = fresh(["plan_failed"])
    run = execute(client, TRIGGER, s=failing)["runTrigger"]
    world.tick(5)
    assert run_state(client, failing, run["id"]) == "FAILED"
    assert stack(client, failing)["state"] == "FAILED"


def test_one_blocking_run_per_stack_and_the_queue_drains(client, world, fresh):
    stack_id = fresh(["changes", "noop", "noop"])
    first = execute(client, TRIGGER, s=stack_id)["runTrigger"]
    second = execute(client, TRIGGER, s=stack_id)["runTrigger"]
    proposed = execute(client, TRIGGER, s=stack_id, t="PROPOSED")["runTrigger"]
    assert second["id"] > first["id"]
    world.tick(5)
    assert run_state(client, stack_id, first["id"]) == "UNCONFIRMED"
    assert run_state(client, stack_id, second["id"]) == "QUEUED"
    # Proposed runs do not take the stack lock: they ran alongside and finished.
    assert run_state(client, stack_id, proposed["id"]) == "FINISHED"
    previews = execute(
        client, "query($s: ID!) { stack(id: $s) { proposedRuns { id state type } } }", s=stack_id
    )
    assert previews["stack"]["proposedRuns"] == [
        {"id": proposed["id"], "state": "FINISHED", "type": "PROPOSED"}
    ]
    current = stack(client, stack_id)
    assert current["blocker"]["id"] == first["id"]
    active = [r for r in current["runs"] if not r["finished"]]
    assert len([r for r in active if r["state"] != "QUEUED"]) == 1

    execute(client, DISCARD, s=stack_id, n="not today")
    assert run_state(client, stack_id, first["id"]) == "DISCARDED"
    assert stack(client, stack_id)["state"] == "DISCARDED"
    world.tick(1)
    assert run_state(client, stack_id, second["id"]) == "READY"
    assert stack(client, stack_id)["state"] == "READY"
    world.tick(4)
    assert run_state(client, stack_id, second["id"]) == "FINISHED"


def test_discard_cancel_and_stop_only_from_their_states(client, world, fresh):
    stack_id = fresh(["changes", "changes", "changes", "changes"])
    holder = execute(client, TRIGGER, s=stack_id)["runTrigger"]
    queued = execute(client, TRIGGER, s=stack_id)["runTrigger"]

    with pytest.raises(
        TransportQueryError, match="run is in state QUEUED; runStop needs INITIALIZING/PLANNING"
    ):
        execute(client, STOP, s=stack_id, r=holder["id"])
    with pytest.raises(
        TransportQueryError, match="run is in state QUEUED; runConfirm needs UNCONFIRMED"
    ):
        execute(client, CONFIRM, s=stack_id, r=holder["id"])
    cancelled = execute(client, CANCEL, s=stack_id, r=queued["id"], n="duplicate")["runCancel"]
    assert cancelled["state"] == "CANCELED"
    with pytest.raises(
        TransportQueryError, match="run is in state CANCELED; runCancel needs QUEUED/READY"
    ):
        execute(client, CANCEL, s=stack_id, r=queued["id"])
    with pytest.raises(
        TransportQueryError,
        match="run is in state CANCELED; runDiscard needs UNCONFIRMED/QUEUED/READY",
    ):
        execute(client, DISCARD, s=stack_id, r=queued["id"])

    world.tick(3)  # READY, PREPARING, INITIALIZING
    assert run_state(client, stack_id, holder["id"]) == "INITIALIZING"
    with pytest.raises(
        TransportQueryError, match="run is in state INITIALIZING; runCancel needs QUEUED/READY"
    ):
        execute(client, CANCEL, s=stack_id, r=holder["id"])
    with pytest.raises(TransportQueryError, match="run is in state INITIALIZING; runDiscard needs"):
        execute(client, DISCARD, s=stack_id, r=holder["id"])
    stopped = execute(client, STOP, s=stack_id, r=holder["id"], n="wrong branch")["runStop"]
    assert stopped["state"] == "STOPPED"
    assert stack(client, stack_id)["state"] == "STOPPED"
    with pytest.raises(
        TransportQueryError, match="run is in state STOPPED; runStop needs INITIALIZING/PLANNING"
    ):
        execute(client, STOP, s=stack_id, r=holder["id"])

    # A READY run can be cancelled; a cancelled run leaves the stack state alone.
    ready = execute(client, TRIGGER, s=stack_id)["runTrigger"]
    world.tick(1)
    assert run_state(client, stack_id, ready["id"]) == "READY"
    execute(client, CANCEL, s=stack_id, r=ready["id"])
    current = stack(client, stack_id)
    assert current["state"] == "STOPPED" and not current["blocked"]
    cancel_step = next(r for r in current["runs"] if r["id"] == queued["id"])["history"][0]
    assert cancel_step == {
        "state": "CANCELED",
        "note": "duplicate",
        "username": "sim-api-key",
        "terminal": True,
    }

    # A QUEUED run can be discarded; a stack with no blocker has nothing to confirm.
    waiting = execute(client, TRIGGER, s=stack_id)["runTrigger"]
    assert (
        execute(client, DISCARD, s=stack_id, r=waiting["id"])["runDiscard"]["state"] == "DISCARDED"
    )
    with pytest.raises(
        TransportQueryError, match="has no blocking run; runConfirm needs UNCONFIRMED"
    ):
        execute(client, CONFIRM, s=stack_id)
    with pytest.raises(TransportQueryError, match="not found"):
        execute(client, CANCEL, s=stack_id, r="01ZZZZZZZZZZZZZZZZZZZZZZZZ")


def test_retry_creates_a_new_run(client, world, fresh):
    stack_id = fresh(["plan_failed", "changes"])
    failed = execute(client, TRIGGER, s=stack_id)["runTrigger"]
    with pytest.raises(
        TransportQueryError, match="run is in state QUEUED; runRetry needs a finished run"
    ):
        execute(client, RETRY, s=stack_id, r=failed["id"])
    world.tick(5)
    retried = execute(client, RETRY, s=stack_id, r=failed["id"])["runRetry"]
    assert (
        retried["id"] != failed["id"]
        and retried["state"] == "QUEUED"
        and retried["type"] == "TRACKED"
    )
    world.tick(5)
    assert run_state(client, stack_id, retried["id"]) == "UNCONFIRMED"


def test_locks_and_disabled_stacks(client, world, fresh):
    someone_elses = fresh(lockedBy="amoreau", lockNote="freeze")
    with pytest.raises(TransportQueryError, match=f"stack {someone_elses} is locked by amoreau"):
        execute(client, TRIGGER, s=someone_elses)
    lock = "mutation($id: ID!, $n: String) { stackLock(id: $id, note: $n) { id lockedBy lockedAt lockNote } }"
    with pytest.raises(TransportQueryError, match="already locked by amoreau"):
        execute(client, lock, id=someone_elses)
    unlock = "mutation($id: ID!) { stackUnlock(id: $id) { id lockedBy lockNote } }"
    assert execute(client, unlock, id=someone_elses)["stackUnlock"]["lockedBy"] is None
    with pytest.raises(TransportQueryError, match="is not locked"):
        execute(client, unlock, id=someone_elses)

    mine = fresh()
    locked = execute(client, lock, id=mine, n="deploying by hand")["stackLock"]
    assert locked["lockedBy"] == "sim-api-key" and locked["lockNote"] == "deploying by hand"
    assert locked["lockedAt"] > 0
    assert execute(client, TRIGGER, s=mine)["runTrigger"]["state"] == "QUEUED"  # the owner may

    disable = "mutation($id: ID!) { stackDisable(id: $id) { id isDisabled } }"
    enable = "mutation($id: ID!) { stackEnable(id: $id) { id isDisabled } }"
    assert execute(client, disable, id=mine)["stackDisable"]["isDisabled"] is True
    with pytest.raises(TransportQueryError, match=f"stack {mine} is disabled"):
        execute(client, TRIGGER, s=mine)
    with pytest.raises(TransportQueryError, match="is disabled"):
        execute(client, 'mutation($s: ID!) { taskCreate(stack: $s, command: "ls") { id } }', s=mine)
    assert execute(client, enable, id=mine)["stackEnable"]["isDisabled"] is False
    with pytest.raises(TransportQueryError, match="not found"):
        execute(client, enable, id="no-such-stack")


def test_tasks_run_and_show_in_tasks(client, world, fresh):
    stack_id = fresh(["changes"])
    task = execute(
        client,
        'mutation($s: ID!) { taskCreate(stack: $s, command: "terraform state list") { id state type } }',
        s=stack_id,
    )["taskCreate"]
    assert task["type"] == "TASK"
    world.tick(5)
    tasks = execute(
        client,
        "query($s: ID!) { stack(id: $s) { state tasks { id state command } runs { id } } }",
        s=stack_id,
    )
    assert tasks["stack"]["tasks"] == [
        {"id": task["id"], "state": "FINISHED", "command": "terraform state list"}
    ]
    assert tasks["stack"]["runs"] == []
    assert tasks["stack"]["state"] == "NONE"  # tasks do not change the stack state


def test_seeded_world_has_a_mix_of_states_and_moves(world):
    states = {s.state for s in world.all_stacks()}
    assert {"FINISHED", "FAILED"} <= states
    big = World(stacks=400, seed=9, activity=0.01)
    states = {s.state for s in big.all_stacks()}
    assert {"FINISHED", "FAILED", "UNCONFIRMED", "NONE"} <= states
    assert states & {"PLANNING", "APPLYING", "INITIALIZING", "READY", "PREPARING"}
    assert any(s.locked_by for s in big.all_stacks()) and any(
        s.is_disabled for s in big.all_stacks()
    )
    before = {s.id: s.state for s in big.all_stacks()}
    moved = big.tick(40)
    assert moved > 100
    after = {s.id: s.state for s in big.all_stacks()}
    assert sum(before[k] != after[k] for k in before) > 20
    # Seeded failures: some runs started during the ticks failed.
    new_runs = [r for s in big.all_stacks() if s.runs for r in s.runs if r.created_at >= big.start]
    assert any(r.state == "FAILED" for r in new_runs)
    # Invariants: one blocker per stack, and the stack state mirrors its most recent run.
    for s in big.all_stacks():
        if s.runs is None:
            continue
        holders = [
            r
            for r in s.runs
            if not r.finished and r.state != "QUEUED" and r.type in ("TRACKED", "TASK", "DESTROY")
        ]
        assert len(holders) <= 1
        if s.state_run_id:
            assert s.run_ids[s.state_run_id].state == s.state


def _content(world):
    stacks = []
    for s in world.all_stacks():
        runs = [(r.id[10:], r.type, r.state, r.outcome, r.delta, r.commit.hash, r.triggered_by,
                 [h.state for h in r.history]) for r in world.runs_of(s)]  # fmt: skip
        stacks.append((s.id, s.name, s.state, s.labels, s.space, s.vendor, s.worker_pool,
                       s.locked_by, s.is_disabled, runs))  # fmt: skip
    return stacks


def test_same_seed_same_world_and_reset_restores_it():
    clock_a, clock_b = (
        iter(range(1_790_000_000, 1_800_000_000)),
        iter(range(1_790_500_000, 1_800_000_000)),
    )
    a = World(stacks=30, seed=123, clock=lambda: next(clock_a))
    b = World(stacks=30, seed=123, clock=lambda: next(clock_b))
    assert _content(a) == _content(b)  # same content, built at different times
    same_time = World(stacks=30, seed=123, clock=lambda: 1_790_000_000)
    again = World(stacks=30, seed=123, clock=lambda: 1_790_000_000)
    assert [[r.id for r in again.runs_of(s)] for s in again.all_stacks()] == [
        [r.id for r in same_time.runs_of(s)] for s in same_time.all_stacks()
    ]
    different = World(stacks=30, seed=124)
    assert [s.id for s in different.all_stacks()] != [s.id for s in a.all_stacks()]

    original = _content(same_time)
    same_time.upsert_stack(id="extra", name="Extra")
    same_time.tick(5)
    same_time.reset()
    assert _content(same_time) == original


def test_run_in_state_makes_a_run_in_each_state_it_offers():
    world = World(stacks=2, seed=9, activity=0)
    for state in ("QUEUED", "READY", "UNCONFIRMED", "FAILED", "FINISHED"):
        stack_id, run_id = run_in_state(world, state)
        run = world.run(world.stack(stack_id), run_id)
        assert run.state == state and run.type == "TRACKED"
    assert run_in_state(world, "QUEUED", stack_id="mine")[0] == "mine"
    with pytest.raises(ValueError, match="unsupported state"):
        run_in_state(world, "APPLYING")
