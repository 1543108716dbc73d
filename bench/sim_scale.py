"""Simulator scale: build a 10,000-stack world and time typical queries (medians of N runs).

Usage: .venv/bin/python bench/sim_scale.py [--stacks 10000] [--repeat 5]
Queries go over HTTP to a loopback server, as a client would see them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from spacelift_sim import World, create_app
from spacelift_sim.testing import fetch_token, run_in_thread

STACKS = "{ stacks { id name description labels state branch spaceDetails { id name } } }"
SEARCH = """query($input: SearchInput!) { searchStacks(input: $input) {
  edges { cursor node { id name state labels space stateSetAt } }
  pageInfo { endCursor hasNextPage } } }"""
SEARCH_INPUT = {
    "first": 50,
    "fullTextSearch": "prod",
    "predicates": [{"field": "state", "constraint": {"enumEquals": ["FINISHED", "FAILED"]}}],
    "orderBy": {"field": "stateSetAt", "direction": "DESC"},
}
STACK = """query($id: ID!) { stack(id: $id) { id state blocked blocker { id state }
  trackedCommit { hash message } runs { id type state title createdAt triggeredBy isMostRecent
  delta { addCount changeCount deleteCount resources } commit { hash authorName }
  history { state timestamp note username } } } }"""


def median_seconds(action, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stacks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    build = median_seconds(lambda: World(stacks=args.stacks, seed=42), args.repeat)
    world = World(stacks=args.stacks, seed=42)
    prepare = median_seconds(lambda: World(stacks=args.stacks, seed=42).prepare(), args.repeat)
    world.prepare()
    tick = median_seconds(lambda: world.tick(1), args.repeat)  # 0.004 pushes per stack

    server = run_in_thread(create_app(world))
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {fetch_token(server.graphql_url)}"

        def post(query: str, **variables) -> dict:
            answer = session.post(
                server.graphql_url, json={"query": query, "variables": variables}, timeout=60
            )
            answer.raise_for_status()
            body = answer.json()
            assert "errors" not in body, body
            return body["data"]

        # Stacks whose history was never looked at are the worst case for stack(id) { runs }.
        cold = iter([s.id for s in world.all_stacks() if s.runs is None and s.plan])
        results = {
            "stacks (all 10,000, the official plugin's selection)": median_seconds(
                lambda: post(STACKS), args.repeat
            ),
            "searchStacks first 50, full text + state filter + order": median_seconds(
                lambda: post(SEARCH, input=SEARCH_INPUT), args.repeat
            ),
            "stack(id) with runs and history, history not yet built": median_seconds(
                lambda: post(STACK, id=next(cold)), args.repeat
            ),
            "stack(id) with runs and history, history built": median_seconds(
                lambda: post(STACK, id=world.all_stacks()[0].id), args.repeat
            ),
        }
        assert len(post(STACKS)["stacks"]) == args.stacks
    finally:
        server.stop()

    print(f"stacks: {args.stacks}, repeat: {args.repeat} (medians)")
    print(f"| World build ({args.stacks} stacks) | {build * 1000:.0f} ms |")
    print(
        f"| World build + prepare() (histories of moving stacks; what the CLI does at start) | {prepare * 1000:.0f} ms |"
    )
    print(f"| One tick (every moving run steps once) | {tick * 1000:.0f} ms |")
    for name, seconds in results.items():
        print(f"| {name} | {seconds * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
