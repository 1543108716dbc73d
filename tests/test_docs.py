"""The docs cannot rot: quoted code is the real code, every hook has a section, examples run."""

from __future__ import annotations

import re
from pathlib import Path

from host import hookspecs

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text()
QUOTED = re.compile(r"From `([^`]+)`:\n\n```\w+\n(.*?)```", re.S)
PYTHON_BLOCKS = re.compile(r"```python\n(.*?)```", re.S)


def test_every_quoted_snippet_is_in_its_file():
    quotes = QUOTED.findall(GUIDE)
    assert len(quotes) >= 8
    for path, snippet in quotes:
        source = (ROOT / path).read_text()
        assert snippet in source, f"docs/plugins.md quotes {path}, but the file no longer says:\n{snippet}"


def test_every_hook_has_a_documented_section():
    hooks = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "greenroom_spec")]
    assert len(hooks) >= 7
    for name in hooks:
        assert f"### {name}\n" in GUIDE, f"hook {name} has no section in docs/plugins.md"


def test_the_testing_example_runs():
    example = [b for b in PYTHON_BLOCKS.findall(GUIDE) if "def test_greeting" in b]
    assert len(example) == 1
    namespace: dict = {}
    exec(compile(example[0], "docs/plugins.md", "exec"), namespace)
    namespace["test_greeting"]()
