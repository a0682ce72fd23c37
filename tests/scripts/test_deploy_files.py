"""The deployment files (deploy/) against what `make run` really does, without Docker or systemd.

A station runs Hemu from docker-compose.yml or the systemd units, not from `make run`; a flag dropped there
(``--enable-api``), a variable misspelt (``HEMU_RASA_TOKN``: the gateway then silently runs without a
token) or a worker paired with the wrong action server would only show in production. So the expected
commands come from scripts/services.py itself (``processes.launch`` is replaced to capture them), variable
names from the Python sources, and the store sections from scripts/endpoints.py. Every check takes the
files' paths, and :func:`test_a_broken_copy_fails` shows each one fails on a broken copy.
"""

from __future__ import annotations

import configparser
import functools
import os
import re
import shlex
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import urlparse

import pytest
import yaml

from scripts import processes, services
from scripts.endpoints import lock_store, tracker_store, tracker_store_url

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SOURCES = ("bot", "hemu", "scripts", "actions", "rasa_addons")
READ_NAME = re.compile(r"""["'](HEMU_[A-Z0-9_]+|DATABASE_URL|REDIS_URL|TELEGRAM_BOT_TOKEN)["']""")
# Flags whose values say where (host, port, paths), which a deployment legitimately changes; the other
# flags' values (``--actions actions``) must be `make run`'s.
WHERE = {"--model", "--interface", "--port", "--endpoints", "--credentials"}
COMPOSE_VAR = re.compile(r"\$\{(\w+)(:?[-?][^}]*)?\}")
WORKER = re.compile(r"(rasa|actions)-\d+")
# Restarted after a crash, and hardened without breaking Rasa (systemd units).
HARDENED = {"Restart": "on-failure", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}
Command = tuple[str, tuple[str, ...], dict[str, str | None]]


@functools.cache
def code_names() -> frozenset[str]:
    """Every variable name Hemu's code spells out; a deployment's name outside it is read by nothing."""
    found = {
        name
        for folder in SOURCES
        for path in (ROOT / folder).rglob("*.py")
        for name in READ_NAME.findall(path.read_text(encoding="utf-8"))
    }
    with mock.patch.dict(os.environ, {}, clear=True):
        runtime = set(processes.service_env())  # what `make run` gives every process (telemetry off…)
    return frozenset(found | runtime)


def make_run_commands() -> dict[str, list[str]]:
    """The command lines `make run` launches, captured from scripts/services.py with dummy ports/paths."""
    seen: dict[str, list[str]] = {}

    def launch(name: str, command: list[str], *_args: Any, **_kwargs: Any) -> SimpleNamespace:
        seen[name] = list(command)
        return SimpleNamespace()

    logs = Path("logs")
    with mock.patch.object(processes, "launch", launch):
        services.start_action_server(5055, logs)
        services.start_rasa(5005, Path("model.tar.gz"), Path("endpoints.yml"), logs, {"HEMU_RASA_TOKEN": "t"})
        services.start_gateway(logs, {"TELEGRAM_BOT_TOKEN": "1:dummy", "HEMU_WEBHOOK_URL": ""})
    return seen


def parse(argv: list[str]) -> Command:
    """``python -m MODULE POS… --flag [value]…`` as (module, positionals, flag → value or None)."""
    assert "-m" in argv, f"not a `python -m` command: {argv}"
    module, *rest = argv[argv.index("-m") + 1 :]
    positional: list[str] = []
    flags: dict[str, str | None] = {}
    index = 0
    while index < len(rest):
        token = rest[index]
        if token.startswith("--"):
            has_value = index + 1 < len(rest) and not rest[index + 1].startswith("--")
            flags[token] = rest[index + 1] if has_value else None
            index += 2 if has_value else 1
        else:
            positional.append(token)
            index += 1
    return module, tuple(positional), flags


def same_command(actual: list[str], expected: list[str], where: str) -> dict[str, str | None]:
    """Same module, subcommand and flags as `make run`; values compared unless they only say where."""
    module, positional, flags = parse(actual)
    want_module, want_positional, want_flags = parse(expected)
    assert (module, positional) == (want_module, want_positional), f"{where}: runs {actual}, not {expected}"
    assert set(flags) == set(want_flags), f"{where}: flags {sorted(flags)}, make run's {sorted(want_flags)}"
    for flag, value in want_flags.items():
        if flag == "--credentials":
            assert Path(str(flags[flag])).name == Path(str(value)).name, f"{where}: {flag} {flags[flag]}"
        elif flag not in WHERE:
            assert flags[flag] == value, f"{where}: {flag} {flags[flag]!r}, make run's {value!r}"
    return flags


def programs(command: str | list[Any]) -> list[list[str]]:
    """The argv of each program a command runs: ``sh -c "a && exec b"`` gives a's and b's."""
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    parts = [shlex.split(part) for part in argv[2].split("&&")] if argv[:2] == ["sh", "-c"] else [argv]
    return [part[1:] if part[0] == "exec" else part for part in parts]


def load_compose(path: Path) -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["services"])


def hemu_services(compose: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services built from Hemu's image (not postgres/redis)."""
    return {name: service for name, service in compose.items() if "build" in service}


def kind(name: str) -> str:
    return name.rsplit("-", 1)[0] if WORKER.fullmatch(name) else name


def env_of(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def variables(value: str) -> set[str]:
    """The compose variables ``${NAME…}`` a value is made of."""
    return {match.group(1) for match in COMPOSE_VAR.finditer(value)}


def dummy(value: str) -> str:
    """A compose value with its variables filled in, to parse it as a URL."""
    return COMPOSE_VAR.sub("dummy", value)


def urls(value: str) -> list[tuple[str, int]]:
    return [(str(urlparse(url).hostname), int(urlparse(url).port or 80)) for url in value.split(",")]


def check_compose_commands(path: Path) -> None:
    """Every Hemu service runs `make run`'s command; a Rasa worker reads the endpoints file it wrote."""
    compose, expected = load_compose(path), make_run_commands()
    ours = hemu_services(compose)
    assert set(compose) - set(ours) == {"postgres", "redis"}, f"unexpected services: {sorted(compose)}"
    assert {kind(name) for name in ours} == {"rasa", "actions", "gateway"}, sorted(ours)
    for name, service in ours.items():
        *before, main = programs(service["command"])
        flags = same_command(main, expected[kind(name)], name)
        if kind(name) == "rasa":
            writes = [parse(argv)[:2] for argv in before]
            assert writes == [("scripts.endpoints", (flags["--endpoints"],))], f"{name}: scripts.endpoints"
            assert flags["--interface"] == "0.0.0.0", f"{name}: unreachable from the gateway's container"
        else:
            assert not before, f"{name}: runs {before} first"
        if kind(name) == "actions":
            assert env_of(service).get("SANIC_HOST") == "0.0.0.0", f"{name}: listens on loopback only"


def port_of(service: Mapping[str, Any]) -> int:
    return int(str(parse(programs(service["command"])[-1])[2]["--port"]))


def check_compose_env(path: Path) -> None:
    """Each variable is one Hemu reads and points at services that exist, paired as in `make run`."""
    compose = load_compose(path)
    ours = hemu_services(compose)
    envs = {name: env_of(service) for name, service in ours.items()}
    for name, env in envs.items():
        unknown = set(env) - code_names()
        assert not unknown, f"{name}: {sorted(unknown)} read by no Hemu code (typo?)"
    rasa = sorted((n for n in ours if kind(n) == "rasa"), key=lambda n: int(n.rsplit("-", 1)[1]))
    actions = sorted((n for n in ours if kind(n) == "actions"), key=lambda n: int(n.rsplit("-", 1)[1]))
    gateway = envs["gateway"]
    rasa_urls, actions_urls = urls(gateway["HEMU_RASA_URL"]), urls(gateway["HEMU_ACTIONS_URL"])
    assert sorted(host for host, _ in rasa_urls) == sorted(rasa), f"gateway HEMU_RASA_URL: {rasa_urls}"
    assert sorted(host for host, _ in actions_urls) == sorted(actions), f"HEMU_ACTIONS_URL: {actions_urls}"
    for host, port in rasa_urls + actions_urls:
        assert port == port_of(ours[host]), f"gateway: {host}:{port}, not the port {host} listens on"
    for index, (host, _) in enumerate(rasa_urls):  # bot/rasa_pool.py: worker i calls actions i mod M
        paired = actions_urls[index % len(actions_urls)]
        own = envs[host].get("HEMU_ACTIONS_URL", "")
        assert urls(own) == [paired], f"{host}: HEMU_ACTIONS_URL {own}, the gateway pairs it with {paired}"
    postgres = env_of(compose["postgres"])
    password = variables(postgres["POSTGRES_PASSWORD"])
    for name, env in envs.items():
        db = urlparse(dummy(env.get("DATABASE_URL", "")))
        where = (db.hostname, db.username, db.path.strip("/"), variables(env.get("DATABASE_URL", "")))
        wanted = ("postgres", postgres["POSTGRES_USER"], postgres["POSTGRES_DB"], password)
        assert where == wanted, f"{name}: DATABASE_URL is not the postgres service's database: {where}"
    for name in rasa:
        env = envs[name]
        redis = urlparse(env.get("REDIS_URL", "")).hostname
        assert redis == "redis" and "redis" in compose, f"{name}: REDIS_URL {redis}"
        url = tracker_store_url({key: dummy(value) for key, value in env.items()})
        needed = {**tracker_store(str(url)).env, **lock_store(env["REDIS_URL"]).env}
        for secret in needed:  # scripts/endpoints.py names these in the file; Rasa needs their values
            assert variables(env.get(secret, "")) == password, f"{name}: {secret}"
    for secret, names in (
        ("HEMU_RASA_TOKEN", [*rasa, "gateway"]),
        ("HEMU_ACTIONS_SECRET", [*rasa, *actions]),
    ):
        given = {name: envs[name].get(secret, "") for name in names}
        assert len({frozenset(variables(value)) for value in given.values()}) == 1, f"{secret}: {given}"
        assert variables(next(iter(given.values()))) == {secret}, f"{secret} from .env: {given}"


def check_compose_ports(path: Path) -> None:
    """Rasa, the actions, PostgreSQL and Redis are reached over the internal network only."""
    for name, service in load_compose(path).items():
        if name != "gateway":
            assert not service.get("ports"), f"{name} publishes {service['ports']}"
        assert service.get("network_mode") != "host", f"{name}: network_mode host"


def check_env_example(compose_path: Path, example: Path) -> None:
    """deploy/env.example defines every variable compose requires, and nothing compose does not use."""
    text = compose_path.read_text(encoding="utf-8")
    used = {match.group(1) for match in COMPOSE_VAR.finditer(text)}
    required = {m.group(1) for m in COMPOSE_VAR.finditer(text) if (m.group(2) or "").startswith(":?")}
    lines = example.read_text(encoding="utf-8").splitlines()
    defined = {m.group(1) for line in lines if (m := re.match(r"([A-Z][A-Z0-9_]*)=", line))}
    mentioned = {m.group(1) for line in lines if (m := re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line))}
    assert required <= defined, f"{example.name}: missing {sorted(required - defined)}"
    assert mentioned <= used, f"{example.name}: {sorted(mentioned - used)} used nowhere in compose"


class _Repeated(dict):  # type: ignore[type-arg]
    """configparser section storage that keeps repeated keys (systemd allows them) as extra lines."""

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, list) and key in self:
            self[key].extend(value)
        else:
            super().__setitem__(key, value)


def load_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, dict_type=_Repeated)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def env_example(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def check_units(folder: Path) -> None:
    """Each unit runs `make run`'s command from the venv, with the env file, restarted, hardened."""
    expected = make_run_commands()
    for name in ("actions", "rasa", "gateway"):
        filename = "hemu-gateway.service" if name == "gateway" else f"hemu-{name}@.service"
        unit = load_unit(folder / filename)
        service, where = unit["Service"], filename
        lines = [*service.get("ExecStartPre", "").splitlines(), service["ExecStart"]]
        *before, main = (shlex.split(line) for line in lines)
        assert main[0] == "/opt/hemu/.venv/bin/python", f"{where}: not the venv's python: {main[0]}"
        flags = same_command(main, expected[name], where)
        if name != "gateway":
            assert flags["--port"] == "%i", f"{where}: the instance is the port, not {flags['--port']}"
        if name == "rasa":
            writes = [parse(argv)[:2] for argv in before]
            assert writes == [("scripts.endpoints", (flags["--endpoints"],))], f"{where}: scripts.endpoints"
            assert flags["--interface"] == "127.0.0.1", where
            assert "/etc/hemu/rasa-%i.env" in service["EnvironmentFile"].splitlines(), f"{where}: its pairing"
        files = service.get("EnvironmentFile", "").splitlines()
        assert "/etc/hemu/hemu.env" in files, f"{where}: EnvironmentFile"
        settings = {key: service.get(key) for key in HARDENED}
        assert settings == HARDENED, f"{where}: not restarted or not hardened: {settings}"
        assert set(service["ReadWritePaths"].split()) == {"/opt/hemu/var", "/opt/hemu/logs"}, where
        assert service["WorkingDirectory"] == "/opt/hemu", where
        names = {item.split("=", 1)[0] for item in shlex.split(service.get("Environment", ""))} - {"HOME"}
        assert not names - code_names(), f"{where}: {sorted(names - code_names())} read by nothing"
        after = unit["Unit"]["After"].split()
        assert "postgresql.service" in after, f"{where}: After= postgresql.service"
        assert name != "rasa" or "redis-server.service" in after, f"{where}: After= redis-server.service"


def check_systemd_env(folder: Path) -> None:
    """hemu.env.example names only variables Hemu reads, and lists the instances the units start."""
    env = env_example(folder / "hemu.env.example")
    unknown = set(env) - code_names()
    assert not unknown, f"hemu.env.example: {sorted(unknown)} read by no Hemu code (typo?)"
    instances = {
        f"hemu-{kind_}@{port}.service"
        for kind_, variable in (("rasa", "HEMU_RASA_URL"), ("actions", "HEMU_ACTIONS_URL"))
        for _, port in urls(env[variable])
    }
    gateway = load_unit(folder / "hemu-gateway.service")["Unit"]
    for key in ("Wants", "After"):
        started = {item for item in gateway[key].split() if item.startswith(("hemu-rasa@", "hemu-actions@"))}
        assert started == instances, f"hemu-gateway.service {key}= {sorted(started)}, not hemu.env's"
    target = load_unit(folder / "hemu.target")["Unit"]["Wants"].split()
    assert set(target) == instances | {"hemu-gateway.service"}, f"hemu.target Wants= {target}"


CHECKS: dict[str, Callable[[Path], None]] = {
    "compose runs make run's commands": lambda deploy: check_compose_commands(deploy / "docker-compose.yml"),
    "compose environment matches the code": lambda deploy: check_compose_env(deploy / "docker-compose.yml"),
    "compose publishes no internal port": lambda deploy: check_compose_ports(deploy / "docker-compose.yml"),
    "env.example has what compose needs": lambda deploy: check_env_example(
        deploy / "docker-compose.yml", deploy / "env.example"
    ),
    "systemd units run make run's commands": lambda deploy: check_units(deploy / "systemd"),
    "hemu.env.example matches the units": lambda deploy: check_systemd_env(deploy / "systemd"),
}


def check_all(deploy: Path) -> None:
    for check in CHECKS.values():
        check(deploy)


@pytest.mark.parametrize("check", CHECKS)
def test_deploy_files_match_make_run(check: str) -> None:
    CHECKS[check](DEPLOY)


def _env(name: str, key: str, value: str | None = None) -> Callable[[dict[str, Any]], Any]:
    """Sets (or with no value drops) one variable of one compose service."""

    def change(compose: dict[str, Any]) -> None:
        env = compose["services"][name]["environment"]
        env.pop(key) if value is None else env.update({key: value})

    return change


def _set(name: str, key: str, value: Callable[[Any], Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda compose: compose["services"][name].update({key: value(compose["services"][name])})


API, RASA_UNIT, ENV = " --enable-api", "systemd/hemu-rasa@.service", "systemd/hemu.env.example"
# Mistake → what the failure must say (so each one is caught by the check meant for it).
COMPOSE_BREAKS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "misspelt variable": (_env("gateway", "HEMU_RASA_TOKN", "x"), "HEMU_RASA_TOKN"),
    "flag dropped": (
        _set("rasa-2", "command", lambda s: [*s["command"][:2], s["command"][2].replace(API, "")]),
        "flags",
    ),
    "other module": (_set("actions-1", "command", lambda s: ["python", "-m", "actions"]), "runs"),
    "endpoints not written": (_set("rasa-1", "command", lambda s: programs(s["command"])[-1]), "endpoints"),
    "wrong pairing": (_env("rasa-2", "HEMU_ACTIONS_URL", "http://actions-1:5055"), "pairs it with"),
    "worker left out": (_env("gateway", "HEMU_RASA_URL", "http://rasa-1:5005"), "HEMU_RASA_URL"),
    "other database": (_env("actions-2", "DATABASE_URL", "sqlite:///x"), "postgres service"),
    "no lock store": (_env("rasa-1", "REDIS_URL"), "REDIS_URL"),
    "no tracker password": (_env("rasa-1", "HEMU_TRACKER_STORE_PASSWORD"), "HEMU_TRACKER_STORE_PASSWORD"),
    "other token": (_env("gateway", "HEMU_RASA_TOKEN", "${OTHER}"), "HEMU_RASA_TOKEN"),
    "no secret": (_env("actions-1", "HEMU_ACTIONS_SECRET"), "HEMU_ACTIONS_SECRET"),
    "published port": (_set("rasa-1", "ports", lambda s: ["5005:5005"]), "publishes"),
    "loopback only": (_env("actions-2", "SANIC_HOST", "127.0.0.1"), "loopback"),
}
TEXT_BREAKS: dict[str, tuple[str, str, str, str]] = {
    "env.example misses a secret": ("env.example", "HEMU_ACTIONS_SECRET=", "HEMU_ACTION_SECRET=", "missing"),
    "unit flag dropped": ("systemd/hemu-actions@.service", " --actions actions", "", "flags"),
    "unit without env file": (
        "systemd/hemu-gateway.service",
        "EnvironmentFile=/etc/hemu/hemu.env\n",
        "",
        "Env",
    ),
    "unit misspelt variable": (RASA_UNIT, "SANIC_HOST=", "SANIC_HOTS=", "SANIC_HOTS"),
    "unit other endpoints": (RASA_UNIT, "scripts.endpoints /run/", "scripts.endpoints /tmp/", "endpoints"),
    "unit not paired": (RASA_UNIT, "EnvironmentFile=/etc/hemu/rasa-%i.env\n", "", "pairing"),
    "unit not hardened": (RASA_UNIT, "ProtectSystem=strict", "ProtectSystem=full", "hardened"),
    "hemu.env misspelt variable": (ENV, "REDIS_URL=", "REDIS_URI=", "REDIS_URI"),
    "hemu.env other worker": (ENV, "127.0.0.1:5006", "127.0.0.1:5007", "Wants="),
}


@pytest.mark.parametrize("broken", [*COMPOSE_BREAKS, *TEXT_BREAKS])
def test_a_broken_copy_fails(broken: str, tmp_path: Path) -> None:
    """Each check can fail: one mistake in a copy of deploy/ is caught (and the intact copy passes)."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    check_all(copy)
    if broken in COMPOSE_BREAKS:
        content = yaml.safe_load((copy / "docker-compose.yml").read_text(encoding="utf-8"))
        change, reason = COMPOSE_BREAKS[broken]
        change(content)
        (copy / "docker-compose.yml").write_text(yaml.safe_dump(content), encoding="utf-8")
    else:
        name, old, new, reason = TEXT_BREAKS[broken]
        text = (copy / name).read_text(encoding="utf-8")
        assert old in text, f"{name} no longer holds {old!r}: update this mutation"
        (copy / name).write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(AssertionError, match=re.escape(reason)):
        check_all(copy)
