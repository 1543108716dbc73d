"""Configuration: load YAML files in Backstage's shape, merge, substitute ${VAR}, validate.

Every problem is collected and reported at once (`ConfigError.problems`), each with the file,
the line where known, the dotted key and the cause. Values declared secret never leave
`Config.redacted()` in clear.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MISSING",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "Field",
    "LoadedConfig",
    "Schema",
    "load",
    "validate",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Field:
    """One key of a config schema.

    `type` is one of str, int, float, bool, list, dict. For a dict, give either `schema` (fixed
    keys; unknown keys are errors) or `values` (free-form keys, each value validated by that
    Field). For a list, `items` validates each element. `validate` may normalise the value and
    returns it, or raises ValueError whose text becomes the problem's message. `secret` values
    are redacted everywhere.
    """

    type: type
    required: bool = False
    default: Any = MISSING
    secret: bool = False
    description: str = ""
    schema: Mapping[str, Field] | None = None
    items: Field | None = None
    values: Field | None = None
    choices: Sequence[Any] | None = None
    min: float | None = None
    max: float | None = None
    validate: Callable[[Any], Any] | None = None


Schema = Mapping[str, Field]


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration."""

    key: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration has problems; `problems` lists every one of them."""

    def __init__(self, problems: Sequence[ConfigProblem]):
        self.problems = list(problems)
        super().__init__(
            f"{len(self.problems)} configuration problem(s):\n"
            + "\n".join(f"  - {p}" for p in self.problems)
        )


@dataclass
class LoadedConfig:
    """Merged and substituted config data, before validation, with where each key came from."""

    data: dict[str, Any]
    files: list[str] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    # dotted key -> (file, line) of the value that won the merge
    locations: dict[str, tuple[str, int | None]] = field(default_factory=dict)


class Config(Mapping[str, Any]):
    """Validated configuration: a read-only mapping with defaults filled in."""

    def __init__(self, data: Mapping[str, Any], secret_paths: frozenset[str] = frozenset()):
        raise NotImplementedError

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        """Return the value at a dotted `key` ("backend.listen.port"), or `default`."""
        raise NotImplementedError

    def section(self, key: str) -> Config:
        """The sub-mapping at dotted `key` as a Config (empty if absent), secrets kept."""
        raise NotImplementedError

    def redacted(self) -> dict[str, Any]:
        """A deep copy with every secret value replaced by "***"."""
        raise NotImplementedError

    def secret_values(self) -> frozenset[str]:
        """Every non-empty secret string value, for scrubbing text before it leaves."""
        raise NotImplementedError


def load(
    paths: Sequence[str | os.PathLike[str]] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> LoadedConfig:
    """Read and merge config files, then substitute variables in string values."""
    raise NotImplementedError


def validate(loaded: LoadedConfig, schema: Schema) -> Config:
    """Validate merged data against `schema`; raise ConfigError with every problem."""
    raise NotImplementedError


_ = Path  # used by the implementation
