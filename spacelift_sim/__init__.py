"""A faithful local Spacelift GraphQL API simulator (tests, the demo and benchmarks).

`create_app()` builds the Flask app, `World` is the simulated account a test can hold on to,
and `spacelift_sim.testing.run_in_thread()` serves an app on a loopback port.
See docs/simulator.md.
"""

from .app import create_app
from .model import SimError
from .world import (
    DEFAULT_KEY_ID,
    DEFAULT_KEY_SECRET,
    DEFAULT_TOKEN_TTL,
    FAULT_MODES,
    RUNS_PAGE_SIZE,
    World,
)

__all__ = [
    "DEFAULT_KEY_ID",
    "DEFAULT_KEY_SECRET",
    "DEFAULT_TOKEN_TTL",
    "FAULT_MODES",
    "RUNS_PAGE_SIZE",
    "SimError",
    "World",
    "create_app",
]
