"""An operator's mistake (a database down, a login that cannot migrate, a bad key) ends in one line, not a traceback."""

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from target_ledger.eventstore import anchor
from tests.conftest import with_database


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/ledger"  # nobody listens there now


async def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TL_") and k != "DATABASE_URL"}
    command = [sys.executable, "-m", "target_ledger", *args]
    environ |= {"TL_DATA_DIR": str(tmp_path / "data"), **env}
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, env=environ, timeout=120)


def _one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: ")
    for word in words:
        assert word in line
    return line


@pytest.fixture
def key(tmp_path: Path) -> Path:
    private, _ = anchor.new_key()
    path = tmp_path / "signing.pem"
    path.write_bytes(private)
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "0"],
        ["migrate"],
        ["rebuild"],
        ["verify"],
        ["checkpoint", "write", "--key", "KEY", "--dir", "DIR"],
    ],
    ids=lambda c: c[0] if c[0] != "checkpoint" else "checkpoint-write",
)
async def test_a_database_that_is_down_is_said_in_one_line(tmp_path: Path, key: Path, command: list[str]) -> None:
    args = [{"KEY": str(key), "DIR": str(tmp_path / "checkpoints")}.get(a, a) for a in command]
    done = await _run(tmp_path, *args, DATABASE_URL=_closed_port_url())
    _one_line_error(done, "cannot reach the database (DATABASE_URL)", "Connection refused")


async def test_a_key_that_is_no_key_is_said_in_one_line(tmp_path: Path, db_url: str) -> None:
    garbage = tmp_path / "key.pem"
    garbage.write_text("not a key\n")
    done = await _run(
        tmp_path, "project", DATABASE_URL=db_url, TL_CHECKPOINT_KEY=str(garbage), TL_CHECKPOINT_DIR=str(tmp_path)
    )
    _one_line_error(done, str(garbage), "is not an unencrypted PEM private key")


@pytest.fixture
async def app_login(db_url: str) -> AsyncIterator[str]:
    """DATABASE_URL logging in as a member of the service role, which cannot migrate."""
    name = f"tl_app_login_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(db_url)
    try:
        await owner.execute(f"CREATE ROLE {name} LOGIN IN ROLE target_ledger_app")
        yield urlunsplit(urlsplit(db_url)._replace(netloc=f"{name}@"))
        await owner.execute(f"DROP ROLE {name}")
    finally:
        await owner.close()


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["project"]], ids=lambda c: c[0])
async def test_a_login_that_cannot_migrate_is_told_to_migrate_as_the_owner(
    tmp_path: Path, app_login: str, command: list[str]
) -> None:
    done = await _run(tmp_path, *command, DATABASE_URL=app_login, TL_DB_ROLE="")
    _one_line_error(done, "permission denied", "run them at start-up", "target-ledger migrate", "owner")


async def test_checkpoint_write_on_an_empty_log_says_there_is_nothing_to_sign(
    tmp_path: Path, db_url: str, key: Path
) -> None:
    done = await _run(tmp_path, "checkpoint", "write", "--key", str(key), "--dir", str(tmp_path), DATABASE_URL=db_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "the log has no events yet: nothing to sign\n"


async def test_migrate_stops_while_the_service_role_may_create_schemas(
    tmp_path: Path, server_url: str, template_db: str
) -> None:
    # template_db: the migrations ran once on this server, so the service role exists.
    name = f"tl_create_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.execute(f'GRANT CREATE ON DATABASE "{name}" TO target_ledger_app')
        done = await _run(tmp_path, "migrate", DATABASE_URL=with_database(server_url, name))
        _one_line_error(done, "target_ledger_app may create schemas", "REVOKE CREATE")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
