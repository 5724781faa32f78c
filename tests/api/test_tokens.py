"""`target-ledger token` prints a token the server with the same settings accepts."""

import asyncio

from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from target_ledger.app import create_app
from target_ledger.cli import main
from target_ledger.config import Settings


async def test_a_printed_token_is_accepted_and_its_secret_is_kept(db_url: str, tmp_path) -> None:
    # No TL_JWT_SECRET: the secret is made once in the data directory.
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": str(tmp_path), "TL_JWT_SECRET": ""}
    printed = await asyncio.to_thread(CliRunner().invoke, main, ["token", "ceo", "--role", "admin"], env=env)
    assert printed.exit_code == 0, printed.output
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0  # readable by its owner only
    settings = Settings(database_url=db_url, data_dir=str(tmp_path))
    async with AsyncTestClient(create_app(settings)) as client:
        r = await client.post(
            "/v1/org/units",
            json={"node": "acme", "kind": "company", "name": "Acme"},
            headers={"Authorization": f"Bearer {printed.output.strip()}"},
        )
    assert r.status_code == 201, r.text


async def test_an_unknown_role_is_refused_by_the_command() -> None:
    result = await asyncio.to_thread(CliRunner().invoke, main, ["token", "x", "--role", "root"])
    assert result.exit_code == 2 and "root" in result.output


async def test_a_token_the_server_would_refuse_is_not_printed(tmp_path) -> None:
    env = {"TL_DATA_DIR": str(tmp_path), "TL_JWT_SECRET": "x" * 40}
    for args in (["ann", "--node", "bad node"], ["line\nbreak"]):
        result = await asyncio.to_thread(CliRunner().invoke, main, ["token", *args], env=env)
        # Then the command fails naming the claim, and prints no token.
        assert result.exit_code == 2 and "eyJ" not in result.output, result.output
    assert (
        "scope_node"
        in (await asyncio.to_thread(CliRunner().invoke, main, ["token", "ann", "--node", "a b"], env=env)).output
    )
