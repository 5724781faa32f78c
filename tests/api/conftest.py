"""An app on a fresh database, and tokens for its users."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient

from target_ledger.api.auth import issue_token
from target_ledger.app import create_app
from target_ledger.config import Settings


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
