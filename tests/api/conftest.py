"""An app on a fresh database, and tokens for its users."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from target_ledger.api.auth import issue_token
from target_ledger.app import create_app
from target_ledger.config import Settings
from tests.api.identity_provider import IdentityProvider, serving_in_thread
from tests.api.support import admin_post, build_east
from tests.conftest import fresh_database


class Clock:
    """The service's clock: real time, unless a test fixes it to a moment."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed or datetime.now(UTC)

    def set(self, day: str) -> None:
        self.fixed = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(settings, clock=clock)) as client:
        yield client


@pytest.fixture
def auth(settings: Settings):
    """Headers carrying a token for a subject and role."""

    def headers(subject: str, role: str | None = None, node: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings.secret(), subject, role, scope_node=node)}"}

    return headers


@pytest.fixture
async def second_ledger(server_url, template_db, settings, clock, auth, tmp_path):
    """A second organisation in a database of its own, with the same org tree and dimension: (url, settings)."""
    async with fresh_database(server_url, template_db) as url:
        second = msgspec.structs.replace(settings, database_url=url, data_dir=str(tmp_path / "second"))
        (tmp_path / "second").mkdir()
        async with AsyncTestClient(create_app(second, clock=clock)) as client:
            await build_east(client, auth)
            await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})
            yield url, second


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    """An OpenID Connect identity provider with one RS256 key, on a port of its own."""
    provider = IdentityProvider()
    provider.add_key("RS256")
    with serving_in_thread(provider):
        yield provider
