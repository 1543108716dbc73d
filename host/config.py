"""Configuration: load YAML files in Backstage's shape, merge, substitute ${VAR}, validate.

Every problem is collected and reported at once (`ConfigError.problems`), each with the file,
the line where known, the dotted key and the cause. Values declared secret never leave
`Config.redacted()` in clear.

Rules, in the order they apply (docs/configuration.md is the user-facing version):

- Files: `app-config.yaml` then `app-config.local.yaml` (each if present), or the given paths
  (each must exist). Later files win; mappings merge deeply; lists and scalars are replaced.
- Substitution runs on the merged string values (never on raw text or on keys): `${VAR}`,
  `${VAR:-default}` (default when VAR is unset or empty) and `$${` for a literal `${`.
- Validation coerces a string that is exactly a number or boolean for an int, float or bool
  field, because substituted values are always strings (`port: ${PORT:-7007}`).
- Dotted keys name values: `backend.listen.port`, `backend.auth.externalAccess[0].options.token`.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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

DEFAULT_FILES = ("app-config.yaml", "app-config.local.yaml")
REDACTED = "***"
# Safety net for keys no schema declared secret (passthrough blocks, free-form dicts).
SECRET_NAME_PARTS = ("secret", "password", "token")


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

    Absent values: a `required` field must be given (a YAML null counts as not given). Otherwise
    an absent or null value takes a copy of `default`; a dict field with a `schema` and no
    `default` becomes the mapping of its children's defaults (left out if that is empty). An
    explicit null on a dict field with a `schema` means an empty mapping (`guest:` is `guest: {}`).

    `min`/`max` bound numbers, and the length of strings, lists and mappings. `choices` is
    checked after coercion, `validate` last, only on a value that passed every other check.
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

    data: dict[str, Any] = field(repr=False)  # may hold secrets: keep it out of reprs and logs
    files: list[str] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    # dotted key -> (file, line) of the value that won the merge
    locations: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # files that were named but could not be read or parsed: the data is incomplete
    unreadable: list[str] = field(default_factory=list)


# --- dotted keys -------------------------------------------------------------------------------


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _index(parent: str, i: int) -> str:
    return f"{parent}[{i}]"


def _parent(path: str) -> str:
    """`a.b[0].c` -> `a.b[0]` -> `a.b` -> `a` -> ``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


_SEGMENT = re.compile(r"^([^\[\]]*)((?:\[\d+\])*)$")


def _lookup(data: Any, key: str) -> Any:
    """The value at dotted `key` in nested dicts and lists, or MISSING."""
    if isinstance(data, Mapping) and key in data:
        return data[key]
    node = data
    for segment in key.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            return MISSING
        name, indices = match.groups()
        if name:
            if not isinstance(node, Mapping) or name not in node:
                return MISSING
            node = node[name]
        for index in re.findall(r"\d+", indices):
            if not isinstance(node, list) or int(index) >= len(node):
                return MISSING
            node = node[int(index)]
    return node


def _looks_secret(name: str | None) -> bool:
    lowered = (name or "").lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


# --- the validated config ----------------------------------------------------------------------


class Config(Mapping[str, Any]):
    """Validated configuration: a read-only mapping with defaults filled in.

    Nested values come back as deep copies (plain dicts and lists), so changing them never
    changes the config; use `section()` for a sub-tree as a Config. `get` takes dotted keys.
    Secrets are the `secret_paths` (dotted keys, with list indices, as `validate` records them)
    plus, as a safety net, any key whose name contains "secret", "password" or "token"
    (case-insensitive) holding a string or a list of strings.
    """

    def __init__(self, data: Mapping[str, Any], secret_paths: frozenset[str] = frozenset()):
        if isinstance(data, Config) and not secret_paths:
            secret_paths = data._secret_paths
        self._data: dict[str, Any] = copy.deepcopy(dict(data))
        self._secret_paths = frozenset(secret_paths)

    def __getitem__(self, key: str) -> Any:
        return copy.deepcopy(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"Config({self.redacted()!r})"

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        """Return the value at a dotted `key` ("backend.listen.port"), or `default`.

        A key that exists literally at the top level wins over its dotted reading; list
        elements are addressed as `externalAccess[0]`. A null value counts as absent.
        """
        value = _lookup(self._data, key)
        return default if value is MISSING or value is None else copy.deepcopy(value)

    def peek(self, key: str, default: Any = None) -> Any:
        """Like `get`, but the stored value itself, not a copy: for the host's per-request hot
        paths (sign-in, tokens, permissions), which only read it. Never change what it returns."""
        value = _lookup(self._data, key)
        return default if value is MISSING or value is None else value

    def section(self, key: str) -> Config:
        """The sub-mapping at dotted `key` as a Config (empty if absent), secrets kept."""
        value = _lookup(self._data, key)
        if not isinstance(value, Mapping):
            return Config({})
        prefix = key + "."
        paths = frozenset(p[len(prefix) :] for p in self._secret_paths if p.startswith(prefix))
        return Config(value, paths)

    def redacted(self) -> dict[str, Any]:
        """A deep copy with every secret value replaced by "***".

        None and the empty string are kept, so an unset secret still shows as unset.
        """
        return self._redact(self._data, "", None)

    def secret_values(self) -> frozenset[str]:
        """Every non-empty secret string value, for scrubbing text before it leaves."""
        found: set[str] = set()
        self._collect(self._data, "", None, found)
        return frozenset(found)

    def _is_secret(self, value: Any, path: str, name: str | None) -> bool:
        if path in self._secret_paths:
            return True
        # by name: strings and lists of strings only; a mapping such as
        # `auth.providers.password` is walked, its entries judged by their own names
        if not _looks_secret(name):
            return False
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        )

    def _redact(self, value: Any, path: str, name: str | None) -> Any:
        if path and self._is_secret(value, path, name):
            return value if value is None or value == "" else REDACTED
        if isinstance(value, dict):
            return {k: self._redact(v, _join(path, k), k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact(v, _index(path, i), None) for i, v in enumerate(value)]
        return copy.deepcopy(value)

    def _collect(self, value: Any, path: str, name: str | None, found: set[str]) -> None:
        if path and self._is_secret(value, path, name):
            found.update(_strings(value))
        elif isinstance(value, dict):
            for k, v in value.items():
                self._collect(v, _join(path, k), k, found)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._collect(v, _index(path, i), None, found)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


# --- loading -----------------------------------------------------------------------------------


def load(
    paths: Sequence[str | os.PathLike[str]] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> LoadedConfig:
    """Read and merge config files, then substitute variables in string values.

    With `paths` None, reads `app-config.yaml` then `app-config.local.yaml` from `cwd` (the
    process's working directory by default), each only if present; with neither the data is
    empty. Given `paths` (relative ones resolve against `cwd`) must all exist. Never raises for
    a bad file: every problem goes to `LoadedConfig.problems`.
    """
    base = Path(cwd) if cwd is not None else Path()
    loaded = LoadedConfig(data={})
    if paths is None:
        files = [(str(base / n), base / n) for n in DEFAULT_FILES if (base / n).is_file()]
    else:
        files = [(os.fspath(p), base / p) for p in paths]
    for name, path in files:
        if not path.is_file():
            loaded.unreadable.append(name)
            loaded.problems.append(ConfigProblem("", "config file not found", name))
            continue
        loaded.files.append(name)
        parsed = _read_file(path, name, loaded.problems)
        if parsed is None:
            loaded.unreadable.append(name)
            continue
        data, locations = parsed
        _merge(loaded.data, data, "", loaded.locations, locations)
    env = os.environ if env is None else env
    loaded.data = _substitute(loaded.data, "", env, loaded)
    return loaded


def _read_file(
    path: Path, name: str, problems: list[ConfigProblem]
) -> tuple[dict[str, Any], dict[str, tuple[str, int | None]]] | None:
    """Parse one file into (data, locations); None (with a problem) if it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(ConfigProblem("", f"cannot read file: {exc}", name))
        return None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:  # an empty file (or only comments) is an empty mapping
            return {}, {}
        before = len(problems)
        _check_duplicates(node, name, problems, set())
        if len(problems) > before:
            return None
        data = loader.construct_document(node)
        if not isinstance(data, dict):
            kind = "a list" if isinstance(data, list) else f"{_describe(data)}"
            problems.append(
                ConfigProblem("", f"the top level must be a mapping, got {kind}", name, 1)
            )
            return None
        locations: dict[str, tuple[str, int | None]] = {}
        clean = _locate(node, data, "", name, loader, locations, problems)
        return clean, locations
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{what} ({exc.context})"
        line = mark.line + 1 if mark is not None else None
        problems.append(ConfigProblem("", f"invalid YAML: {what}", name, line))
    except yaml.YAMLError as exc:
        problems.append(ConfigProblem("", f"invalid YAML: {exc}", name))
    finally:
        loader.dispose()
    return None


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _check_duplicates(
    node: yaml.Node, name: str, problems: list[ConfigProblem], seen: set[int]
) -> None:
    """Report duplicate keys (PyYAML silently keeps the last) and recursive aliases."""
    if id(node) in seen:
        line = node.start_mark.line + 1
        problems.append(ConfigProblem("", "invalid YAML: recursive alias", name, line))
        return
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                line = key_node.start_mark.line + 1
                ident = (key_node.tag, key_node.value)
                if ident in first:
                    message = f"duplicate key {key_node.value!r} (first at line {first[ident]})"
                    problems.append(ConfigProblem("", f"invalid YAML: {message}", name, line))
                first.setdefault(ident, line)
            _check_duplicates(value_node, name, problems, seen | {id(node)})
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, name, problems, seen | {id(node)})


def _locate(
    node: yaml.Node,
    data: Any,
    path: str,
    name: str,
    loader: yaml.SafeLoader,
    locations: dict[str, tuple[str, int | None]],
    problems: list[ConfigProblem],
) -> Any:
    """Walk the node tree beside the constructed data: record the line of every key and
    return a fresh copy of the data with string keys only (YAML allows `1:` or `yes:`)."""
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:  # `<<` merges are already flattened in
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                where = _join(path, str(key))
                message = f"a key must be a string, got {_describe(key)} (quote it)"
                problems.append(ConfigProblem(where, message, name, line))
                continue
            child = _join(path, key)
            for stale in [k for k in locations if _is_under(k, child)]:
                del locations[stale]
            locations[child] = (name, line)
            out[key] = _locate(value_node, data[key], child, name, loader, locations, problems)
        return out
    if isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        result = []
        for i, (item_node, item) in enumerate(zip(node.value, data, strict=False)):
            locations[_index(path, i)] = (name, item_node.start_mark.line + 1)
            result.append(
                _locate(item_node, item, _index(path, i), name, loader, locations, problems)
            )
        return result
    return copy.deepcopy(data)


def _merge(
    base: dict[str, Any],
    over: dict[str, Any],
    path: str,
    base_locations: dict[str, tuple[str, int | None]],
    over_locations: dict[str, tuple[str, int | None]],
) -> None:
    """Merge `over` into `base` in place: mappings deeply, anything else replaced."""
    for key, value in over.items():
        child = _join(path, key)
        if isinstance(base.get(key), dict) and isinstance(value, dict):
            _merge(base[key], value, child, base_locations, over_locations)
            if child in over_locations:
                base_locations[child] = over_locations[child]
            continue
        base[key] = value
        for stale in [k for k in base_locations if _is_under(k, child)]:
            del base_locations[stale]
        base_locations.update((k, v) for k, v in over_locations.items() if _is_under(k, child))


# --- substitution ------------------------------------------------------------------------------

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _substitute(value: Any, path: str, env: Mapping[str, str], loaded: LoadedConfig) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, _join(path, k), env, loaded) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, _index(path, i), env, loaded) for i, v in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        result, errors = expand(value, env)
        file, line = loaded.locations.get(path, (None, None))
        for message in errors:
            loaded.problems.append(ConfigProblem(path, message, file, line))
        return result
    return value


def expand(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Substitute `${VAR}`, `${VAR:-default}` and `$${` in `text`.

    Returns the result and the problems found; an unresolved reference is left as written.
    """
    out: list[str] = []
    errors: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("$${", i):
            out.append("${")
            i += 3
        elif text.startswith("${", i):
            end = text.find("}", i + 2)
            if end < 0:
                errors.append('unclosed "${" (write "$${" for a literal "${")')
                out.append(text[i:])
                break
            reference = text[i : end + 1]
            name, has_default, default = text[i + 2 : end].partition(":-")
            if not _VAR_NAME.fullmatch(name):
                errors.append(
                    f'invalid variable reference "{reference}": use ${{NAME}} or '
                    f"${{NAME:-default}}, NAME made of letters, digits and _"
                )
                out.append(reference)
            elif "${" in default:
                errors.append(f'nested "${{" in the default of "{reference}" is not supported')
                out.append(reference)
            elif env.get(name):
                out.append(env[name])
            elif has_default:
                out.append(default)
            elif name in env:  # set but empty, as in the shell
                out.append("")
            else:
                errors.append(
                    f"environment variable {name} is not set "
                    f"(use ${{{name}:-default}} to give a default)"
                )
                out.append(reference)
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out), errors


# --- validation --------------------------------------------------------------------------------

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean (true or false)",
    list: "a list",
    dict: "a mapping",
}
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_BOOLS = {"true": True, "yes": True, "on": True, "1": True,
          "false": False, "no": False, "off": False, "0": False}  # fmt: skip


def validate(loaded: LoadedConfig, schema: Schema, *, passthrough: Collection[str] = ()) -> Config:
    """Validate merged data against `schema`; raise ConfigError with every problem.

    The error lists the load problems and the schema problems together, by file (in load
    order), then line. If a file could not be read or parsed, only the load problems are
    reported: checking incomplete data would report values as missing that are merely unread.
    `passthrough` names top-level keys kept as loaded without a schema (for example the block
    of a disabled plugin); the secret-name heuristic still covers them.
    """
    checker = _Validator(loaded)
    data: dict[str, Any] = {}
    if not loaded.unreadable:
        data = checker.mapping(loaded.data, schema, "", passthrough)
    problems = [*loaded.problems, *checker.problems]
    if problems:
        order = {name: i for i, name in enumerate(loaded.files)}
        problems.sort(key=lambda p: (order.get(p.file or "", len(order)), p.line or 0, p.key))
        raise ConfigError(problems)
    return Config(data, frozenset(checker.secrets))


def _describe(value: Any, secret: bool = False) -> str:
    """What was found, for `expected X, got Y`; secret values are never echoed."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        kind, text = "boolean", "true" if value else "false"
    elif isinstance(value, int):
        kind, text = "integer", str(value)
    elif isinstance(value, float):
        kind, text = "number", repr(value)
    elif isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        kind, text = "string", '"' + shown.replace('"', '\\"') + '"'
    elif isinstance(value, list):
        return "a list"
    elif isinstance(value, dict):
        return "a mapping"
    else:
        kind, text = type(value).__name__, str(value)
    return f"{kind} (value hidden)" if secret else f"{kind} {text}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _plural(count: float, word: str) -> str:
    return f"{_number(count)} {word}{'' if count == 1 else 's'}"


class _Validator:
    def __init__(self, loaded: LoadedConfig):
        self.locations = loaded.locations
        self.last_file = loaded.files[-1] if loaded.files else None
        # values whose substitution failed were reported already; do not pile on
        self.reported = {p.key for p in loaded.problems if p.key}
        self.problems: list[ConfigProblem] = []
        self.secrets: set[str] = set()

    def problem(self, path: str, message: str, *, own: bool = True) -> None:
        """Record a problem at the location of `path` (or of its nearest located parent)."""
        probe = path if own else _parent(path)
        while probe and probe not in self.locations:
            probe = _parent(probe)
        file, line = self.locations[probe] if probe else (self.last_file, None)
        self.problems.append(ConfigProblem(path, message, file, line))

    def mapping(
        self, data: Mapping[str, Any], schema: Schema, path: str, passthrough: Collection[str] = ()
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in schema:
                result = self.present(value, schema[key], _join(path, key))
                if result is not MISSING:
                    out[key] = result
            elif key in passthrough:
                out[key] = copy.deepcopy(value)
            else:
                self.problem(_join(path, key), _unknown_key(key, [*schema, *passthrough]))
        for key, spec in schema.items():
            if key not in data:
                result = self.absent(spec, _join(path, key))
                if result is not MISSING:
                    out[key] = result
        return out

    def absent(self, spec: Field, path: str) -> Any:
        if spec.required:
            self.problem(path, "required value missing", own=False)
            return MISSING
        return self.default(spec, path)

    def default(self, spec: Field, path: str) -> Any:
        if spec.default is not MISSING:
            if spec.secret:
                self.secrets.add(path)
            return copy.deepcopy(spec.default)
        if spec.type is dict and spec.schema is not None:
            children = {}
            for key, child in spec.schema.items():
                value = self.default(child, _join(path, key))
                if value is not MISSING:
                    children[key] = value
            return children or MISSING
        return MISSING

    def present(self, value: Any, spec: Field, path: str) -> Any:
        """Check a value that is in the data (null included)."""
        if value is None:
            if spec.type is dict and spec.schema is not None:
                value = {}
            elif spec.required:
                self.problem(path, "required value missing")
                return MISSING
            else:
                return self.default(spec, path)
        return self.check(value, spec, path)

    def check(self, value: Any, spec: Field, path: str) -> Any:
        if path in self.reported:
            return MISSING
        value = self.coerce(value, spec, path)
        if value is MISSING:
            return MISSING
        if spec.choices is not None and value not in spec.choices:
            choices = ", ".join(str(c) for c in spec.choices)
            self.problem(path, f"must be one of: {choices}")
            return MISSING
        if not self.bounds(value, spec, path):
            return MISSING
        if isinstance(value, dict):
            if spec.schema is not None:
                value = self.mapping(value, spec.schema, path)
            elif spec.values is not None:
                value = self.free_form(value, spec.values, path)
        elif isinstance(value, list) and spec.items is not None:
            items = [self.check(item, spec.items, _index(path, i)) for i, item in enumerate(value)]
            value = [item for item in items if item is not MISSING]
        if spec.validate is not None:
            try:
                value = spec.validate(value)
            except ValueError as exc:
                self.problem(path, str(exc) or "invalid value")
                return MISSING
        if spec.secret:
            self.secrets.add(path)
        return value

    def free_form(self, data: dict[str, Any], spec: Field, path: str) -> dict[str, Any]:
        out = {}
        for key, value in data.items():
            result = self.present(value, spec, _join(path, key))
            if result is not MISSING:
                out[key] = result
        return out

    def coerce(self, value: Any, spec: Field, path: str) -> Any:
        """The value as `spec.type`, or MISSING after reporting a type problem.

        Strings that are exactly an integer, a number or a boolean word are accepted for
        int, float and bool fields: substituted values are always strings.
        """
        wanted = spec.type
        if wanted is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _BOOLS:
                return _BOOLS[value.lower()]
        elif wanted is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _INT.fullmatch(value):
                return int(value)
        elif wanted is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str) and _FLOAT.fullmatch(value):
                return float(value)
        elif isinstance(value, wanted):
            return value
        expected = _TYPE_NAMES.get(wanted, f"a {wanted.__name__}")
        secret = spec.secret or _looks_secret(path.rsplit(".", 1)[-1])
        self.problem(path, f"expected {expected}, got {_describe(value, secret)}")
        return MISSING

    def bounds(self, value: Any, spec: Field, path: str) -> bool:
        if spec.min is None and spec.max is None or isinstance(value, bool):
            return True
        if isinstance(value, int | float):
            size, low, high = value, "must be at least {}", "must be at most {}"
            fmt: Callable[[float], str] = _number
        elif isinstance(value, str | list | dict):
            word = {str: "character", list: "item", dict: "key"}[type(value)]
            verb = "be" if isinstance(value, str) else "have"
            size, low, high = len(value), f"must {verb} at least {{}}", f"must {verb} at most {{}}"
            fmt = lambda n: _plural(n, word) + (" long" if word == "character" else "")  # noqa: E731
        else:
            return True
        if spec.min is not None and size < spec.min:
            self.problem(path, low.format(fmt(spec.min)))
            return False
        if spec.max is not None and size > spec.max:
            self.problem(path, high.format(fmt(spec.max)))
            return False
        return True


def _unknown_key(key: str, known: Sequence[str]) -> str:
    """`unknown key (did you mean "apiSecret"?)`, or the known keys when few enough."""
    by_case = [k for k in known if k.lower() == key.lower()]
    close = by_case or difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f'unknown key (did you mean "{close[0]}"?)'
    if known and len(known) <= 12:
        return f"unknown key (known keys: {', '.join(sorted(known))})"
    return "unknown key"
