"""deploy/docker-compose.yml stays true to the code (Docker is not here to run it; CI also checks
it against the compose-spec schema): each ledger service runs a real `target-ledger` command,
and sets only settings that config.py reads."""

import re
from pathlib import Path

import click
import yaml

from target_ledger import config
from target_ledger.cli import main

COMPOSE = Path(__file__).parents[2] / "deploy" / "docker-compose.yml"


def ledger_services() -> dict[str, dict]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return {name: s for name, s in services.items() if s.get("image", "").startswith("target-ledger")}


def test_every_ledger_service_runs_a_real_command() -> None:
    services = ledger_services()
    # The topology the README promises: two API processes, two workers, the relay.
    commands = sorted(" ".join(s["command"]) for s in services.values())
    assert commands == [
        "target-ledger project",
        "target-ledger project",
        "target-ledger relay nats",
        "target-ledger serve",
        "target-ledger serve",
    ]
    for name, service in services.items():
        program, *words = service["command"]
        command: click.Command = main
        for word in words:  # each word names a command of the group before it
            assert isinstance(command, click.Group), f"{name}: {word} follows a command, not a group"
            assert word in command.commands, f"{name}: target-ledger has no command {word!r} there"
            command = command.commands[word]
        assert program == "target-ledger" and not isinstance(command, click.Group), name


def test_every_variable_a_ledger_service_sets_is_a_setting() -> None:
    known = set(re.findall(r'"((?:TL|DATABASE)_[A-Z_]+)"', Path(config.__file__).read_text()))
    for name, service in ledger_services().items():
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} sets variables config.py never reads: {sorted(unknown)}"
