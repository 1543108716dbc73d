"""Config: layering, substitution, validation, locations and secret handling."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from host.config import (
    Config,
    ConfigError,
    ConfigProblem,
    Field,
    LoadedConfig,
    load,
    validate,
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def token_is_clean(value: str) -> str:
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain whitespace")
    return value


SCHEMA = {
    "app": Field(
        dict,
        schema={
            "title": Field(str, default="Greenroom"),
            "environment": Field(str, default="production", choices=["production", "development"]),
        },
    ),
    "backend": Field(
        dict,
        schema={
            "secret": Field(str, secret=True),
            "listen": Field(
                dict,
                schema={
                    "host": Field(str, default="127.0.0.1"),
                    "port": Field(int, default=7007, min=1, max=65535),
                },
            ),
            "maxRequestBytes": Field(int, default=1048576),
            "auth": Field(
                dict,
                schema={
                    "externalAccess": Field(
                        list,
                        default=[],
                        items=Field(
                            dict,
                            schema={
                                "type": Field(str, required=True, choices=["static"]),
                                "options": Field(
                                    dict,
                                    required=True,
                                    schema={
                                        "token": Field(
                                            str,
                                            required=True,
                                            secret=True,
                                            min=16,
                                            validate=token_is_clean,
                                        ),
                                        "subject": Field(str, required=True),
                                    },
                                ),
                            },
                        ),
                    )
                },
            ),
            "cache": Field(
                dict,
                schema={
                    "store": Field(str, default="memory", choices=["memory", "redis"]),
                    "connection": Field(str, secret=True),
                    "ratio": Field(float, default=0.5),
                },
            ),
        },
    ),
    "auth": Field(
        dict,
        schema={
            "providers": Field(
                dict,
                schema={
                    "guest": Field(
                        dict,
                        default=None,
                        schema={
                            "userName": Field(str, default="guest"),
                            "dangerouslyAllowOutsideDevelopment": Field(bool, default=False),
                        },
                    ),
                    "password": Field(
                        dict,
                        schema={
                            "users": Field(
                                dict,
                                default={},
                                values=Field(
                                    dict,
                                    schema={
                                        "passwordHash": Field(str, required=True, secret=True),
                                        "groups": Field(list, default=[], items=Field(str)),
                                    },
                                ),
                            )
                        },
                    ),
                },
            ),
        },
    ),
    "plugins": Field(dict, schema={"disabled": Field(list, default=[], items=Field(str))}),
    "spacelift": Field(
        dict,
        schema={
            "hostUrl": Field(str, required=True),
            "apiKey": Field(str, required=True),
            "apiSecret": Field(str, required=True, secret=True),
            "readOnly": Field(bool, default=False),
        },
    ),
}

TOKEN = "tok-0123456789abcdef"


def check(loaded: LoadedConfig) -> list[ConfigProblem]:
    """The problems validation raises (fails the test if there are none)."""
    with pytest.raises(ConfigError) as info:
        validate(loaded, SCHEMA)
    return info.value.problems


# --- layering ----------------------------------------------------------------------------------


def test_default_files_are_layered_with_deep_merge_and_list_replace(tmp_path):
    write(
        tmp_path,
        "app-config.yaml",
        """
        app:
          title: Base
        backend:
          listen:
            host: 0.0.0.0
            port: 7000
        plugins:
          disabled: [a, b]
        """,
    )
    local = write(
        tmp_path,
        "app-config.local.yaml",
        """
        backend:
          listen:
            port: 8000
        plugins:
          disabled: [c]
        """,
    )
    loaded = load(cwd=tmp_path, env={})
    assert loaded.problems == []
    assert loaded.files == [str(tmp_path / "app-config.yaml"), str(local)]
    assert loaded.data == {
        "app": {"title": "Base"},
        "backend": {"listen": {"host": "0.0.0.0", "port": 8000}},
        "plugins": {"disabled": ["c"]},
    }


def test_no_default_files_means_empty_data(tmp_path):
    loaded = load(cwd=tmp_path, env={})
    assert (loaded.data, loaded.files, loaded.problems) == ({}, [], [])
    cfg = validate(loaded, SCHEMA)
    assert cfg.get("backend.listen.port") == 7007


def test_explicit_paths_later_wins_and_missing_file_is_named(tmp_path):
    write(tmp_path, "one.yaml", "app: {title: One, environment: development}\n")
    write(tmp_path, "two.yaml", "app: {title: Two}\n")
    loaded = load(["one.yaml", "two.yaml", "three.yaml"], cwd=tmp_path, env={})
    assert loaded.data == {"app": {"title": "Two", "environment": "development"}}
    assert loaded.problems == [ConfigProblem("", "config file not found", "three.yaml")]
    assert loaded.files == ["one.yaml", "two.yaml"]


def test_explicit_paths_ignore_default_files(tmp_path):
    write(tmp_path, "app-config.yaml", "app: {title: Default}\n")
    other = write(tmp_path, "other.yaml", "app: {title: Other}\n")
    assert load([other], cwd=tmp_path, env={}).data == {"app": {"title": "Other"}}


def test_a_scalar_replaces_a_mapping_and_its_locations(tmp_path):
    write(tmp_path, "a.yaml", "backend:\n  listen:\n    port: 1\n")
    write(tmp_path, "b.yaml", "# local\n# override\nbackend: null\n")
    loaded = load(["a.yaml", "b.yaml"], cwd=tmp_path, env={})
    assert loaded.data == {"backend": None}
    assert loaded.locations == {"backend": ("b.yaml", 3)}


# --- locations and YAML errors ----------------------------------------------------------------


def test_locations_track_the_value_that_won_the_merge(tmp_path):
    write(
        tmp_path,
        "a.yaml",
        """
        app:
          title: A
        backend:
          auth:
            externalAccess:
              - type: static
                options: {token: x, subject: s}
        """,
    )
    write(tmp_path, "b.yaml", "# comment\napp:\n  title: B\n")
    loaded = load(["a.yaml", "b.yaml"], cwd=tmp_path, env={})
    assert loaded.locations["app"] == ("b.yaml", 2)
    assert loaded.locations["app.title"] == ("b.yaml", 3)
    assert loaded.locations["backend.auth.externalAccess"] == ("a.yaml", 5)
    assert loaded.locations["backend.auth.externalAccess[0]"] == ("a.yaml", 6)
    assert loaded.locations["backend.auth.externalAccess[0].options.subject"] == ("a.yaml", 7)


def test_broken_yaml_names_file_and_line(tmp_path):
    write(tmp_path, "good.yaml", "app: {title: ok}\n")
    write(tmp_path, "bad.yaml", "app:\n  title: x\n  oops: [1, 2\nbackend: {}\n")
    loaded = load(["good.yaml", "bad.yaml"], cwd=tmp_path, env={})
    assert loaded.data == {"app": {"title": "ok"}}
    assert loaded.unreadable == ["bad.yaml"]
    [problem] = loaded.problems
    assert str(problem) == (
        "bad.yaml:4: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence)"
    )
    # validation reports only the load problem: the data is incomplete
    assert check(loaded) == [problem]


def test_top_level_must_be_a_mapping(tmp_path):
    write(tmp_path, "list.yaml", "- a\n- b\n")
    loaded = load(["list.yaml"], cwd=tmp_path, env={})
    assert loaded.problems == [
        ConfigProblem("", "the top level must be a mapping, got a list", "list.yaml", 1)
    ]


def test_duplicate_keys_are_reported(tmp_path):
    write(tmp_path, "dup.yaml", "app:\n  title: a\n  title: b\n")
    loaded = load(["dup.yaml"], cwd=tmp_path, env={})
    assert [str(p) for p in loaded.problems] == [
        "dup.yaml:3: invalid YAML: duplicate key 'title' (first at line 2)"
    ]


def test_non_string_keys_and_recursive_aliases_are_reported(tmp_path):
    write(tmp_path, "keys.yaml", "app:\n  title: t\n  1: one\n")
    write(tmp_path, "loop.yaml", "x: &a [*a]\n")
    loaded = load(["keys.yaml", "loop.yaml"], cwd=tmp_path, env={})
    assert [str(p) for p in loaded.problems] == [
        "keys.yaml:3: app.1: a key must be a string, got integer 1 (quote it)",
        "loop.yaml:1: invalid YAML: recursive alias",
    ]
    assert loaded.data == {"app": {"title": "t"}}


def test_yaml_merge_keys_are_located(tmp_path):
    write(tmp_path, "m.yaml", "base: &b {k: 1, j: 2}\nuse:\n  <<: *b\n  k: 3\n")
    loaded = load(["m.yaml"], cwd=tmp_path, env={})
    assert loaded.data["use"] == {"k": 3, "j": 2}
    assert loaded.locations["use.k"] == ("m.yaml", 4)
    assert loaded.locations["use.j"] == ("m.yaml", 1)


def test_empty_file_is_an_empty_mapping(tmp_path):
    write(tmp_path, "empty.yaml", "# nothing yet\n")
    loaded = load(["empty.yaml"], cwd=tmp_path, env={})
    assert (loaded.data, loaded.problems) == ({}, [])


# --- substitution -------------------------------------------------------------------------------


def test_substitution_in_values(tmp_path):
    write(
        tmp_path,
        "app-config.yaml",
        """
        spacelift:
          hostUrl: ${HOST}.app.spacelift.io
          apiKey: ${KEY:-fallback}
          apiSecret: ${EMPTY:-from-default}
          literal: $${NOT_A_VAR} and $$ and $5
          ${KEYS_ARE_NOT_SUBSTITUTED}: 1
          list: ["${HOST}", 2]
        """,
    )
    env = {"HOST": "acme", "EMPTY": ""}
    loaded = load(cwd=tmp_path, env=env)
    assert loaded.problems == []
    assert loaded.data["spacelift"] == {
        "hostUrl": "acme.app.spacelift.io",
        "apiKey": "fallback",
        "apiSecret": "from-default",
        "literal": "${NOT_A_VAR} and $$ and $5",
        "${KEYS_ARE_NOT_SUBSTITUTED}": 1,
        "list": ["acme", 2],
    }


def test_substituted_value_is_never_reparsed(tmp_path):
    write(tmp_path, "app-config.yaml", "app:\n  title: ${TITLE}\n")
    loaded = load(cwd=tmp_path, env={"TITLE": "a: [b, ${c}"})
    assert loaded.problems == []
    assert loaded.data == {"app": {"title": "a: [b, ${c}"}}


def test_missing_variable_names_variable_key_file_and_line(tmp_path):
    path = write(
        tmp_path,
        "app-config.yaml",
        """
        spacelift:
          hostUrl: acme.app.spacelift.io
          apiKey: ${SPACELIFT_API_KEY}
        """,
    )
    loaded = load(cwd=tmp_path, env={})
    assert loaded.problems == [
        ConfigProblem(
            "spacelift.apiKey",
            "environment variable SPACELIFT_API_KEY is not set "
            "(use ${SPACELIFT_API_KEY:-default} to give a default)",
            str(path),
            3,
        )
    ]


def test_set_but_empty_variable_substitutes_empty(tmp_path):
    write(tmp_path, "app-config.yaml", "app:\n  title: x${EMPTY}y\n")
    loaded = load(cwd=tmp_path, env={"EMPTY": ""})
    assert (loaded.data, loaded.problems) == ({"app": {"title": "xy"}}, [])


def test_malformed_references_are_problems(tmp_path):
    write(tmp_path, "c.yaml", "a: ${UNCLOSED\nb: ${not a name}\nc: ${A:-${B}}\n")
    loaded = load(["c.yaml"], cwd=tmp_path, env={})
    assert [(p.key, p.line, p.message) for p in loaded.problems] == [
        ("a", 1, 'unclosed "${" (write "$${" for a literal "${")'),
        (
            "b",
            2,
            'invalid variable reference "${not a name}": use ${NAME} or ${NAME:-default}, '
            "NAME made of letters, digits and _",
        ),
        ("c", 3, 'nested "${" in the default of "${A:-${B}" is not supported'),
    ]


def test_env_defaults_to_os_environ(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENROOM_TEST_TITLE", "From env")
    write(tmp_path, "app-config.yaml", "app:\n  title: ${GREENROOM_TEST_TITLE}\n")
    assert load(cwd=tmp_path).data == {"app": {"title": "From env"}}


# --- validation -----------------------------------------------------------------------------


def test_defaults_are_filled_in(tmp_path):
    cfg = validate(LoadedConfig(data={"app": {"title": "T"}}), SCHEMA)
    assert cfg["app"] == {"title": "T", "environment": "production"}
    assert cfg["backend"] == {
        "listen": {"host": "127.0.0.1", "port": 7007},
        "maxRequestBytes": 1048576,
        "auth": {"externalAccess": []},
        "cache": {"store": "memory", "ratio": 0.5},
    }
    assert cfg["plugins"] == {"disabled": []}
    # an explicit default wins over the children's defaults; no defaults at all: left out
    assert cfg["auth"] == {"providers": {"guest": None, "password": {"users": {}}}}
    # no value given anywhere in the block: only the keys with defaults
    assert cfg["spacelift"] == {"readOnly": False}


def test_null_means_absent_but_empty_mapping_for_a_schema_dict():
    data = {"app": {"title": None}, "auth": {"providers": {"guest": None}}}
    cfg = validate(LoadedConfig(data=data), SCHEMA)
    assert cfg.get("app.title") == "Greenroom"
    assert cfg.get("auth.providers.guest") == {
        "userName": "guest",
        "dangerouslyAllowOutsideDevelopment": False,
    }


def test_mutable_defaults_are_copied():
    first = validate(LoadedConfig(data={}), SCHEMA)
    users = first.get("auth.providers.password.users")
    users["mallory"] = {}
    second = validate(LoadedConfig(data={}), SCHEMA)
    assert second.get("auth.providers.password.users") == {}
    assert SCHEMA["auth"].schema["providers"].schema["password"].schema["users"].default == {}


def test_unknown_key_suggests_the_nearest_known_key(tmp_path):
    write(tmp_path, "app-config.yaml", "spacelift:\n  hostUrl: h\n  apiKey: k\n  apiSecrt: s\n")
    problems = check(load(cwd=tmp_path, env={}))
    file = str(tmp_path / "app-config.yaml")
    assert problems == [
        ConfigProblem("spacelift.apiSecret", "required value missing", file, 1),
        ConfigProblem("spacelift.apiSecrt", 'unknown key (did you mean "apiSecret"?)', file, 4),
    ]


def test_unknown_key_without_a_close_match_lists_known_keys():
    problems = check(LoadedConfig(data={"app": {"zzz": 1}}))
    assert [p.message for p in problems] == ["unknown key (known keys: environment, title)"]


def test_unknown_top_level_key_and_passthrough():
    loaded = LoadedConfig(data={"spacelfit": {}, "hello": {"greeting": "hi", "token": "t0k"}})
    with pytest.raises(ConfigError) as info:
        validate(loaded, SCHEMA)
    assert [(p.key, p.message) for p in info.value.problems] == [
        ("hello", "unknown key (known keys: app, auth, backend, plugins, spacelift)"),
        ("spacelfit", 'unknown key (did you mean "spacelift"?)'),
    ]
    cfg = validate(LoadedConfig(data={"hello": {"greeting": "hi", "token": "t0k"}}), SCHEMA,
                   passthrough=["hello"])  # fmt: skip
    assert cfg["hello"] == {"greeting": "hi", "token": "t0k"}
    assert cfg.redacted()["hello"] == {"greeting": "hi", "token": "***"}


def test_wrong_types_name_expected_and_found():
    data = {
        "backend": {"listen": {"port": "ten", "host": 5}, "maxRequestBytes": True},
        "plugins": {"disabled": "hello"},
        "spacelift": {"hostUrl": "h", "apiKey": "k", "apiSecret": 12345678, "readOnly": "maybe"},
        "app": [],
    }
    messages = {p.key: p.message for p in check(LoadedConfig(data=data))}
    assert messages == {
        "app": "expected a mapping, got a list",
        "backend.listen.port": 'expected an integer, got string "ten"',
        "backend.listen.host": "expected a string, got integer 5",
        "backend.maxRequestBytes": "expected an integer, got boolean true",
        "plugins.disabled": 'expected a list, got string "hello"',
        # a secret's value is never echoed
        "spacelift.apiSecret": "expected a string, got integer (value hidden)",
        "spacelift.readOnly": 'expected a boolean (true or false), got string "maybe"',
    }


def test_int_is_accepted_for_float_but_float_not_for_int():
    cfg = validate(LoadedConfig(data={"backend": {"cache": {"ratio": 2}}}), SCHEMA)
    assert cfg.get("backend.cache.ratio") == 2.0
    assert isinstance(cfg.get("backend.cache.ratio"), float)
    problems = check(LoadedConfig(data={"backend": {"listen": {"port": 80.5}}}))
    assert [p.message for p in problems] == ["expected an integer, got number 80.5"]


def test_substituted_strings_are_coerced_for_numbers_and_booleans(tmp_path):
    write(
        tmp_path,
        "app-config.yaml",
        """
        backend:
          listen:
            port: ${PORT:-7007}
          cache:
            ratio: ${RATIO}
        spacelift:
          hostUrl: ${PORT:-none}
          apiKey: k
          apiSecret: s
          readOnly: ${READ_ONLY}
        """,
    )
    cfg = validate(load(cwd=tmp_path, env={"RATIO": "0.25", "READ_ONLY": "True"}), SCHEMA)
    assert cfg.get("backend.listen.port") == 7007
    assert cfg.get("backend.cache.ratio") == 0.25
    assert cfg.get("spacelift.readOnly") is True
    cfg = validate(load(cwd=tmp_path, env={"PORT": "8080", "RATIO": "1", "READ_ONLY": "0"}), SCHEMA)
    assert cfg.get("backend.listen.port") == 8080
    assert cfg.get("spacelift.readOnly") is False
    # a string field keeps the string: no coercion the other way
    assert cfg.get("spacelift.hostUrl") == "8080"
    problems = check(load(cwd=tmp_path, env={"PORT": " 80", "RATIO": "x", "READ_ONLY": "2"}))
    assert [(p.key, p.message) for p in problems] == [
        ("backend.listen.port", 'expected an integer, got string " 80"'),
        ("backend.cache.ratio", 'expected a number, got string "x"'),
        ("spacelift.readOnly", 'expected a boolean (true or false), got string "2"'),
    ]


def test_failed_substitution_is_not_reported_again_as_a_type_problem(tmp_path):
    write(tmp_path, "app-config.yaml", "backend:\n  listen:\n    port: ${PORT}\n")
    problems = check(load(cwd=tmp_path, env={}))
    assert [(p.key, p.line) for p in problems] == [("backend.listen.port", 3)]
    assert problems[0].message.startswith("environment variable PORT is not set")


def test_required_missing_choices_and_bounds():
    data = {
        "app": {"environment": "staging"},
        "backend": {"listen": {"port": 0}, "cache": {"store": "redus"}},
        "spacelift": {"hostUrl": "h", "apiKey": None},
    }
    messages = {p.key: p.message for p in check(LoadedConfig(data=data))}
    assert messages == {
        "app.environment": "must be one of: production, development",
        "backend.listen.port": "must be at least 1",
        "backend.cache.store": "must be one of: memory, redis",
        "spacelift.apiKey": "required value missing",
        "spacelift.apiSecret": "required value missing",
    }


def test_missing_required_key_uses_parent_location_or_last_file(tmp_path):
    write(tmp_path, "a.yaml", "app: {}\n")
    write(tmp_path, "b.yaml", "app: {}\n\n\nspacelift:\n  hostUrl: h\n")
    problems = check(load(["a.yaml", "b.yaml"], cwd=tmp_path, env={}))
    assert [str(p) for p in problems] == [
        "b.yaml:4: spacelift.apiKey: required value missing",
        "b.yaml:4: spacelift.apiSecret: required value missing",
    ]
    schema = {"must": Field(str, required=True)}
    with pytest.raises(ConfigError) as info:
        validate(load(["a.yaml", "b.yaml"], cwd=tmp_path, env={}), {**SCHEMA, **schema})
    assert "b.yaml: must: required value missing" in [str(p) for p in info.value.problems]


def test_nested_list_items_are_keyed_with_indices(tmp_path):
    write(
        tmp_path,
        "app-config.yaml",
        f"""
        backend:
          auth:
            externalAccess:
              - type: static
                options: {{token: {TOKEN}, subject: ok}}
              - type: dynamic
                options:
                  token: short
                  subject: ci
              - options:
                  token: "has whitespace inside it"
                  extra: 1
        """,
    )
    problems = check(load(cwd=tmp_path, env={}))
    assert [(p.key, p.line, p.message) for p in problems] == [
        ("backend.auth.externalAccess[1].type", 6, "must be one of: static"),
        (
            "backend.auth.externalAccess[1].options.token",
            8,
            "must be at least 16 characters long",
        ),
        ("backend.auth.externalAccess[2].options.subject", 10, "required value missing"),
        ("backend.auth.externalAccess[2].type", 10, "required value missing"),
        ("backend.auth.externalAccess[2].options.token", 11, "must not contain whitespace"),
        (
            "backend.auth.externalAccess[2].options.extra",
            12,
            "unknown key (known keys: subject, token)",
        ),
    ]


def test_validate_callable_may_normalise():
    schema = {"name": Field(str, validate=str.strip)}
    assert validate(LoadedConfig(data={"name": "  x  "}), schema)["name"] == "x"


def test_free_form_values_are_validated_per_entry():
    data = {
        "auth": {
            "providers": {
                "password": {
                    "users": {
                        "alice": {"passwordHash": "h1", "groups": ["ops"]},
                        "bob": {"groups": "ops"},
                    }
                }
            }
        }
    }
    messages = {p.key: p.message for p in check(LoadedConfig(data=data))}
    assert messages == {
        "auth.providers.password.users.bob.passwordHash": "required value missing",
        "auth.providers.password.users.bob.groups": 'expected a list, got string "ops"',
    }


def test_one_bad_file_reports_every_problem_at_once(tmp_path):
    path = write(
        tmp_path,
        "bad.yaml",
        """
        app:
          title: Portal
          enviroment: development
        backend:
          listen:
            port: ten
        spacelift:
          hostUrl: acme.app.spacelift.io
          apiKey: ${SPACELIFT_API_KEY}
          apiSecret: ${SPACELIFT_API_SECRET}
        """,
    )
    with pytest.raises(ConfigError) as info:
        validate(load([path], env={"SPACELIFT_API_SECRET": "s3cr3t-value"}), SCHEMA)
    file = str(path)
    assert [str(p) for p in info.value.problems] == [
        f'{file}:3: app.enviroment: unknown key (did you mean "environment"?)',
        f'{file}:6: backend.listen.port: expected an integer, got string "ten"',
        f"{file}:9: spacelift.apiKey: environment variable SPACELIFT_API_KEY is not set "
        "(use ${SPACELIFT_API_KEY:-default} to give a default)",
    ]
    assert str(info.value).startswith("3 configuration problem(s):\n  - ")
    assert "s3cr3t-value" not in str(info.value)


# --- Config: access, sections, secrets --------------------------------------------------------


@pytest.fixture
def cfg() -> Config:
    data = {
        "backend": {
            "secret": "backend-secret-value",
            "listen": {"port": 7100},
            "auth": {
                "externalAccess": [
                    {"type": "static", "options": {"token": TOKEN, "subject": "ci"}},
                    {"type": "static", "options": {"token": TOKEN + "-2", "subject": "bot"}},
                ]
            },
            "cache": {"store": "redis", "connection": "redis://:pw@cache:6379/0"},
        },
        "auth": {
            "providers": {
                "password": {"users": {"alice": {"passwordHash": "scrypt$hash", "groups": []}}}
            }
        },
        "spacelift": {"hostUrl": "h", "apiKey": "key-id", "apiSecret": "spacelift-secret"},
    }
    return validate(LoadedConfig(data=data), SCHEMA)


def test_config_is_a_read_only_mapping_with_dotted_get(cfg):
    assert cfg.get("backend.listen.port") == 7100
    assert cfg.get("backend.listen.host") == "127.0.0.1"
    assert cfg.get("backend.auth.externalAccess[1].options.subject") == "bot"
    assert cfg.get("backend.nope.port", 5) == 5
    assert cfg.get("backend.auth.externalAccess[7]") is None
    assert cfg["spacelift"]["apiKey"] == "key-id"
    assert "backend" in cfg and "nope" not in cfg
    cfg["backend"]["listen"]["port"] = 1
    cfg.get("backend.listen")["port"] = 1
    assert cfg.get("backend.listen.port") == 7100
    with pytest.raises(TypeError):
        cfg["backend"] = {}  # type: ignore[index]


def test_redacted_hides_every_secret(cfg):
    redacted = cfg.redacted()
    assert redacted["backend"]["secret"] == "***"
    assert redacted["backend"]["listen"] == {"host": "127.0.0.1", "port": 7100}
    assert redacted["backend"]["cache"]["connection"] == "***"
    assert [e["options"] for e in redacted["backend"]["auth"]["externalAccess"]] == [
        {"token": "***", "subject": "ci"},
        {"token": "***", "subject": "bot"},
    ]
    assert redacted["auth"]["providers"]["password"]["users"]["alice"] == {
        "passwordHash": "***",
        "groups": [],
    }
    assert redacted["spacelift"] == {
        "hostUrl": "h",
        "apiKey": "key-id",
        "apiSecret": "***",
        "readOnly": False,
    }
    text = repr(cfg) + repr(redacted)
    for secret in cfg.secret_values():
        assert secret not in text


def test_secret_values(cfg):
    assert cfg.secret_values() == {
        "backend-secret-value",
        TOKEN,
        TOKEN + "-2",
        "redis://:pw@cache:6379/0",
        "scrypt$hash",
        "spacelift-secret",
    }


def test_unset_secret_stays_unset_and_is_not_a_secret_value():
    cfg = validate(LoadedConfig(data={"backend": {"secret": ""}}), SCHEMA)
    assert cfg.redacted()["backend"]["secret"] == ""
    assert cfg.secret_values() == frozenset()


def test_secret_name_heuristic_without_schema():
    cfg = Config(
        {
            "plugin": {
                "clientSecret": "c1",
                "Password": "p1",
                "tokens": ["t1", "t2"],
                "tokenTtlSeconds": 300,
                "apiKey": "visible",
                "connection": "visible-too",
            }
        }
    )
    assert cfg.redacted() == {
        "plugin": {
            "clientSecret": "***",
            "Password": "***",
            "tokens": "***",
            "tokenTtlSeconds": 300,
            "apiKey": "visible",
            "connection": "visible-too",
        }
    }
    assert cfg.secret_values() == {"c1", "p1", "t1", "t2"}


def test_section_rebases_secret_paths(cfg):
    backend = cfg.section("backend")
    assert isinstance(backend, Config)
    assert backend.get("listen.port") == 7100
    assert backend.redacted()["cache"]["connection"] == "***"
    assert backend.redacted()["auth"]["externalAccess"][0]["options"]["token"] == "***"
    spacelift = cfg.section("spacelift")
    assert spacelift.redacted()["apiSecret"] == "***"
    assert spacelift.secret_values() == {"spacelift-secret"}
    assert cfg.section("backend.auth.externalAccess[1].options").secret_values() == {TOKEN + "-2"}
    assert cfg.section("nope") == Config({})
    assert len(cfg.section("backend.listen.port")) == 0


def test_the_complete_example_in_the_docs_loads(tmp_path):
    docs = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("## A complete example", 1)[1].split("```yaml\n", 1)[1].split("```")[0]
    (tmp_path / "app-config.yaml").write_text(example, encoding="utf-8")
    env = {
        "BACKEND_SECRET": "s" * 32,
        "CI_TOKEN": TOKEN,
        "ALICE_PASSWORD_HASH": "hash",
        "SPACELIFT_API_KEY": "key",
        "SPACELIFT_API_SECRET": "secret",
    }
    loaded = load(cwd=tmp_path, env=env)
    assert loaded.problems == []
    assert loaded.data["backend"]["listen"]["port"] == "7007"
    assert loaded.data["backend"]["cache"]["connection"] == "redis://localhost:6379/0"
    assert loaded.data["spacelift"]["apiKey"] == "key"
