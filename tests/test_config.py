"""Tests of configuration files: formats, defaults, module ids and every reported problem."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    PIN,
    PIN_TYPE_NAME,
    USER,
    WRONG_PIN,
    HostFactory,
    host_config,
    pin_module,
    read_rows,
    write_yaml,
)

from mfa_core import ConfigError, ConfigProblem, LoginResult, ModuleInfo, SyncMfaHost

PIN_A = "111222"
PIN_B = "333444"


def installed_types() -> list[str]:
    return sorted({entry.name for entry in entry_points(group="mfa_core.module_types")})


def config_problems(
    make_host: HostFactory, config: dict[str, Any] | Path | None
) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        make_host(config)
    return caught.value.problems


def enrol(host: SyncMfaHost, module_id: str, pin: str) -> None:
    form = host.start_setup(module_id, USER)
    assert form.flow_id is not None
    result = host.continue_setup(form.flow_id, USER, {"pin": pin})
    assert result.type == "create_entry"


def login(host: SyncMfaHost, pin: str, module_id: str | None = None) -> LoginResult:
    form = host.begin_login(USER)
    assert form.session_id is not None
    if module_id is not None:
        form = host.continue_login(form.session_id, USER, {"module_id": module_id})
        assert form.module_id == module_id
    assert form.session_id is not None
    return host.continue_login(form.session_id, USER, {"pin": pin})


# File formats and defaults


def test_yaml_file_builds_modules(make_host: HostFactory, tmp_path: Path, store_path: Path) -> None:
    backup = {"type": "insecure_example", "id": "backup_pin", "name": "Backup PIN"}
    path = write_yaml(tmp_path / "mfa.yaml", host_config(store_path, pin_module(), backup))

    host = make_host(path)

    assert host.host.settings.source == str(path)
    assert host.modules() == [
        ModuleInfo(id="insecure_example", type="insecure_example", name=PIN_TYPE_NAME),
        ModuleInfo(id="backup_pin", type="insecure_example", name="Backup PIN"),
    ]


def test_toml_file_builds_modules(make_host: HostFactory, tmp_path: Path, store_path: Path) -> None:
    path = tmp_path / "mfa.toml"
    path.write_text(
        f"""session_lifetime = 120

[store]
path = "{store_path}"

[[modules]]
type = "insecure_example"
id = "pin_toml"

[[modules.data]]
user_id = "{USER}"
pin = "{PIN}"
""",
        encoding="utf-8",
    )

    host = make_host(path)

    assert host.host.settings.source == str(path)
    assert host.host.settings.session_lifetime == 120
    assert host.modules() == [
        ModuleInfo(id="pin_toml", type="insecure_example", name=PIN_TYPE_NAME)
    ]
    assert login(host, PIN).type == "success"


def test_embedded_default_without_file(
    make_host: HostFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    if "totp" not in installed_types():
        problems = config_problems(make_host, None)
        assert [problem.source for problem in problems] == ["<embedded default>"]
        assert problems[0].message.startswith("unknown module type 'totp'; installed types: ")
        return

    host = make_host(None)

    assert host.host.settings.source == "<embedded default>"
    assert [(module.id, module.type) for module in host.modules()] == [("totp", "totp")]
    assert (tmp_path / "xdg" / "mfa-core" / "store.sqlite3").is_file()


def test_config_file_in_config_dir(
    make_host: HostFactory, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "mfa-core").mkdir(parents=True)
    path = write_yaml(
        tmp_path / "xdg" / "mfa-core" / "config.yaml", host_config(store_path, pin_module("home"))
    )

    host = make_host(None)

    assert host.host.settings.source == str(path)
    assert [module.id for module in host.modules()] == ["home"]


def test_config_env_variable_used(
    make_host: HostFactory, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = write_yaml(tmp_path / "chosen.yaml", host_config(store_path, pin_module("chosen")))

    host = SyncMfaHost.from_config(environ={"MFA_CORE_CONFIG": str(path)})
    try:
        source = host.host.settings.source
        module_ids = [module.id for module in host.modules()]
    finally:
        host.close()

    assert source == str(path)
    assert module_ids == ["chosen"]


# Several modules of one type


def test_modules_of_one_type_keep_data(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module("pin_a"), pin_module("pin_b")))
    enrol(host, "pin_a", PIN_A)
    enrol(host, "pin_b", PIN_B)

    assert login(host, PIN_B, "pin_a").errors == {"base": "invalid_code"}
    assert login(host, PIN_A, "pin_a").type == "success"
    assert login(host, PIN_A, "pin_b").errors == {"base": "invalid_code"}
    assert login(host, PIN_B, "pin_b").type == "success"
    rows = read_rows(store_path, "SELECT module_id, user_id FROM user_data ORDER BY module_id")
    assert rows == [("pin_a", USER), ("pin_b", USER)]


def test_depose_one_module_keeps_other(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module("pin_a"), pin_module("pin_b")))
    enrol(host, "pin_a", PIN_A)
    enrol(host, "pin_b", PIN_B)

    host.depose_user("pin_a", USER)

    assert host.is_user_setup("pin_a", USER) is False
    assert host.user_modules(USER) == [
        ModuleInfo(id="pin_b", type="insecure_example", name=PIN_TYPE_NAME)
    ]
    assert login(host, PIN_A).errors == {"base": "invalid_code"}
    assert login(host, PIN_B).type == "success"


def test_max_retries_tightens_limit(make_host: HostFactory, store_path: Path) -> None:
    module = {**pin_module(users={USER: PIN}), "max_retries": 2}
    host = make_host(host_config(store_path, module))
    form = host.begin_login(USER)
    assert form.session_id is not None

    first = host.continue_login(form.session_id, USER, {"pin": WRONG_PIN})
    second = host.continue_login(form.session_id, USER, {"pin": WRONG_PIN})

    assert first.errors == {"base": "invalid_code"}
    assert second.type == "abort"
    assert second.reason == "too_many_retry"


# Problems, each located by file, module and key


@pytest.mark.parametrize(
    ("first", "second", "module_id"),
    [
        pytest.param(pin_module("pin"), pin_module("pin"), "pin", id="explicit_ids"),
        pytest.param(pin_module(), pin_module(), "insecure_example", id="default_ids"),
    ],
)
def test_duplicate_id_rejected(
    make_host: HostFactory,
    tmp_path: Path,
    store_path: Path,
    first: dict[str, Any],
    second: dict[str, Any],
    module_id: str,
) -> None:
    path = write_yaml(tmp_path / "mfa.yaml", host_config(store_path, first, second))

    problems = config_problems(make_host, path)

    assert problems == [
        ConfigProblem(
            str(path),
            f"duplicate module id {module_id!r} (first used by modules[0]); "
            "give each module a distinct 'id'",
            module_index=1,
            module_id=module_id,
            key_path=("id",),
        )
    ]


def test_unknown_type_lists_installed(
    make_host: HostFactory, tmp_path: Path, store_path: Path
) -> None:
    path = write_yaml(
        tmp_path / "mfa.yaml", host_config(store_path, pin_module(), {"type": "sms", "id": "text"})
    )

    problems = config_problems(make_host, path)

    assert problems == [
        ConfigProblem(
            str(path),
            f"unknown module type 'sms'; installed types: {', '.join(installed_types())}",
            module_index=1,
            module_id="text",
            key_path=("type",),
        )
    ]


def test_misspelled_type_suggests_name(make_host: HostFactory, store_path: Path) -> None:
    problems = config_problems(make_host, host_config(store_path, {"type": "insecure_exampel"}))

    assert len(problems) == 1
    assert problems[0].message.endswith("(did you mean 'insecure_example'?)")


def test_bad_field_types_rejected(make_host: HostFactory, tmp_path: Path, store_path: Path) -> None:
    named = {"type": "insecure_example", "name": 7}
    data = {"type": "insecure_example", "id": "pin_b", "data": [{"user_id": 5, "pin": "1"}]}
    config = host_config(store_path, named, data, limits={"free_failures": "3"})
    path = write_yaml(tmp_path / "mfa.yaml", config)

    problems = config_problems(make_host, path)

    assert len(problems) == 3
    assert (
        ConfigProblem(
            str(path), "expected an integer, got str", key_path=("limits", "free_failures")
        )
        in problems
    )
    assert ConfigProblem(str(path), "expected str", 0, "insecure_example", ("name",)) in problems
    assert ConfigProblem(str(path), "expected str", 1, "pin_b", ("data", 0, "user_id")) in problems


def test_unknown_keys_rejected(make_host: HostFactory, tmp_path: Path, store_path: Path) -> None:
    module = {**pin_module(), "colour": "red"}
    config = host_config(store_path, module, colour="blue", limits={"max_failures": 5})
    path = write_yaml(tmp_path / "mfa.yaml", config)

    problems = config_problems(make_host, path)

    assert len(problems) == 3
    top_level = "flow_lifetime, limits, modules, plugins, session_lifetime, store"
    limits = "backoff_base, backoff_max, free_failures, lockout_after"
    module_keys = "data, id, max_retries, name, type"
    assert (
        ConfigProblem(str(path), f"unknown key; expected one of: {top_level}", key_path=("colour",))
        in problems
    )
    assert (
        ConfigProblem(
            str(path),
            f"unknown key; expected one of: {limits}",
            key_path=("limits", "max_failures"),
        )
        in problems
    )
    assert (
        ConfigProblem(
            str(path),
            f"unknown key; expected one of: {module_keys}",
            0,
            "insecure_example",
            ("colour",),
        )
        in problems
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [(9, "value must be at least 10"), (301, "value must be at most 300")],
)
def test_session_lifetime_out_of_range(
    make_host: HostFactory, tmp_path: Path, store_path: Path, value: int, message: str
) -> None:
    path = write_yaml(
        tmp_path / "mfa.yaml", host_config(store_path, pin_module(), session_lifetime=value)
    )

    problems = config_problems(make_host, path)

    assert problems == [ConfigProblem(str(path), message, key_path=("session_lifetime",))]


def test_session_lifetime_maximum_accepted(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module(), session_lifetime=300))

    assert host.host.settings.session_lifetime == 300


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "value must be at least 1"), (101, "value must be at most 100")],
)
def test_lockout_after_out_of_range(
    make_host: HostFactory, tmp_path: Path, store_path: Path, value: int, message: str
) -> None:
    config = host_config(store_path, pin_module(), limits={"lockout_after": value})
    path = write_yaml(tmp_path / "mfa.yaml", config)

    problems = config_problems(make_host, path)

    assert problems == [ConfigProblem(str(path), message, key_path=("limits", "lockout_after"))]


def test_lockout_after_maximum_accepted(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module(), limits={"lockout_after": 100}))

    assert host.host.limiter.policy.lockout_after == 100


def test_max_retries_above_type_limit(
    make_host: HostFactory, tmp_path: Path, store_path: Path
) -> None:
    module = {**pin_module("pin"), "max_retries": 4}
    path = write_yaml(tmp_path / "mfa.yaml", host_config(store_path, module))

    problems = config_problems(make_host, path)

    assert problems == [
        ConfigProblem(
            str(path),
            "must be at most 3, the limit of type 'insecure_example' "
            "(configuration may only tighten it)",
            module_index=0,
            module_id="pin",
            key_path=("max_retries",),
        )
    ]


def test_option_and_retry_problems_together(make_host: HostFactory, store_path: Path) -> None:
    module = {**pin_module("pin"), "max_retries": 4, "colour": "red"}

    problems = config_problems(make_host, host_config(store_path, module))

    assert [problem.key_path for problem in problems] == [("colour",), ("max_retries",)]


def test_core_key_problem_hides_nothing(make_host: HostFactory, store_path: Path) -> None:
    module = {**pin_module("pin"), "name": 7, "colour": "red"}

    problems = config_problems(make_host, host_config(store_path, module))

    assert [problem.key_path for problem in problems] == [("name",), ("colour",)]


def test_duplicate_id_keys_still_checked(make_host: HostFactory, store_path: Path) -> None:
    first = pin_module("pin")
    second = {**pin_module("pin"), "colour": "red"}

    problems = config_problems(make_host, host_config(store_path, first, second))

    assert [(problem.module_index, problem.key_path) for problem in problems] == [
        (1, ("id",)),
        (1, ("colour",)),
    ]


ALL_PROBLEMS_YAML = """\
session_lifetime: 301
flow_lifetime: 10
colour: blue
limits:
  lockout_after: 101
  free_failures: "3"
  unknown_limit: 1
store:
  path: {store_path}
  create: "yes"
modules:
  - type: insecure_example
    max_retries: 4
  - type: insecure_example
  - type: insecure_example
    id: pin_b
    data: [{{user_id: 5, pin: "1"}}]
    colour: red
  - type: insecure_exampel
    id: pin_c
  - type: insecure_example
    id: "bad id!"
    name: 7
  - "just a string"
  - id: no_type
"""


def test_all_problems_in_one_error(
    make_host: HostFactory, tmp_path: Path, store_path: Path
) -> None:
    path = tmp_path / "mfa.yaml"
    path.write_text(ALL_PROBLEMS_YAML.format(store_path=store_path), encoding="utf-8")
    source = str(path)
    types = ", ".join(installed_types())
    expected = [
        ConfigProblem(source, "value must be at most 300", key_path=("session_lifetime",)),
        ConfigProblem(source, "value must be at least 60", key_path=("flow_lifetime",)),
        ConfigProblem(
            source,
            "unknown key; expected one of: flow_lifetime, limits, modules, plugins, "
            "session_lifetime, store",
            key_path=("colour",),
        ),
        ConfigProblem(source, "value must be at most 100", key_path=("limits", "lockout_after")),
        ConfigProblem(source, "expected an integer, got str", key_path=("limits", "free_failures")),
        ConfigProblem(
            source,
            "unknown key; expected one of: backoff_base, backoff_max, free_failures, lockout_after",
            key_path=("limits", "unknown_limit"),
        ),
        ConfigProblem(source, "expected bool", key_path=("store", "create")),
        ConfigProblem(
            source,
            "duplicate module id 'insecure_example' (first used by modules[0]); "
            "give each module a distinct 'id'",
            1,
            "insecure_example",
            ("id",),
        ),
        ConfigProblem(
            source,
            "expected 1 to 64 of the characters A-Z a-z 0-9 _ . -, starting with a letter or digit",
            4,
            "bad id!",
            ("id",),
        ),
        ConfigProblem(source, "expected str", 4, "bad id!", ("name",)),
        ConfigProblem(source, "expected a mapping with a 'type' key, got str", 5),
        ConfigProblem(source, "required key is missing", 6, "no_type", ("type",)),
        ConfigProblem(
            source,
            "must be at most 3, the limit of type 'insecure_example' "
            "(configuration may only tighten it)",
            0,
            "insecure_example",
            ("max_retries",),
        ),
        ConfigProblem(source, "expected str", 2, "pin_b", ("data", 0, "user_id")),
        ConfigProblem(
            source,
            "unknown key; expected one of: data, id, max_retries, name, type",
            2,
            "pin_b",
            ("colour",),
        ),
        ConfigProblem(
            source,
            f"unknown module type 'insecure_exampel'; installed types: {types} "
            "(did you mean 'insecure_example'?)",
            3,
            "pin_c",
            ("type",),
        ),
    ]

    problems = config_problems(make_host, path)

    assert len(problems) == len(expected)
    for problem in expected:
        assert problem in problems
    assert SyncMfaHost.check_config(path, environ={}) == problems


def test_problem_text_locates_key(make_host: HostFactory, tmp_path: Path, store_path: Path) -> None:
    module = {**pin_module("pin"), "max_retries": 4}
    path = write_yaml(tmp_path / "mfa.yaml", host_config(store_path, module))

    with pytest.raises(ConfigError) as caught:
        make_host(path)

    assert str(caught.value) == (
        "invalid configuration (1 problem):\n"
        f"  - {path}: modules[0] (id 'pin'): key max_retries: must be at most 3, the limit of "
        "type 'insecure_example' (configuration may only tighten it)"
    )


# Files that cannot be read


def test_missing_file_reported(make_host: HostFactory, tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    problems = config_problems(make_host, path)

    assert problems == [ConfigProblem(str(path), "file not found")]


def test_invalid_yaml_reports_line(make_host: HostFactory, tmp_path: Path) -> None:
    path = tmp_path / "mfa.yaml"
    path.write_text("modules:\n  - type: insecure_example\n   id: [\n", encoding="utf-8")

    problems = config_problems(make_host, path)

    message = (
        "invalid YAML at line 3, column 4: expected <block end>, but found '<block mapping start>'"
    )
    assert problems == [ConfigProblem(str(path), message)]


def test_invalid_toml_reported(make_host: HostFactory, tmp_path: Path) -> None:
    path = tmp_path / "mfa.toml"
    path.write_text('session_lifetime = 60\n[store\npath = "x"\n', encoding="utf-8")

    problems = config_problems(make_host, path)

    assert len(problems) == 1
    assert problems[0].source == str(path)
    assert problems[0].message.startswith("invalid TOML: ")
    assert "line 2" in problems[0].message


@pytest.mark.parametrize(
    ("text", "got"),
    [("- insecure_example\n- totp\n", "list"), ("insecure_example\n", "str")],
)
def test_top_level_not_mapping(make_host: HostFactory, tmp_path: Path, text: str, got: str) -> None:
    path = tmp_path / "mfa.yaml"
    path.write_text(text, encoding="utf-8")

    problems = config_problems(make_host, path)

    assert problems == [ConfigProblem(str(path), f"expected a mapping at the top level, got {got}")]


def test_modules_not_a_list(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path)
    config["modules"] = "insecure_example"

    problems = config_problems(make_host, config)

    assert problems == [
        ConfigProblem("<configuration mapping>", "expected list", key_path=("modules",))
    ]


def test_bad_name_keeps_retry_check(make_host: HostFactory, store_path: Path) -> None:
    module = {**pin_module("pin"), "name": 7, "max_retries": 4}

    problems = config_problems(make_host, host_config(store_path, module))

    assert [problem.key_path for problem in problems] == [("name",), ("max_retries",)]
    assert problems[1].message == (
        "must be at most 3, the limit of type 'insecure_example' "
        "(configuration may only tighten it)"
    )


def test_settings_repr_hides_module_keys(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module(users={USER: "424242"})))

    settings = host.host.settings
    module = host.host._modules["insecure_example"]

    assert "424242" not in repr(settings)
    assert "424242" not in repr(settings.modules[0])
    assert "424242" not in repr(module)
    assert "424242" not in repr(module.instance.context)  # type: ignore[attr-defined]
    assert settings.modules[0].options["data"] == [{"user_id": USER, "pin": "424242"}]
