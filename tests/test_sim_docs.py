"""docs/simulator.md cannot rot: its test example runs, and it documents every fault mode."""

from __future__ import annotations

import re
from pathlib import Path

from spacelift_sim import FAULT_MODES, RUNS_PAGE_SIZE

DOC = (Path(__file__).resolve().parent.parent / "docs" / "simulator.md").read_text()


def test_the_in_process_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC, re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/simulator.md", "exec"), {})


def test_every_fault_mode_and_the_page_size_are_documented():
    for mode in FAULT_MODES:
        assert f"| `{mode}` |" in DOC
    assert f"**{RUNS_PAGE_SIZE} per page**" in DOC
