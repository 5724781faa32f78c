"""An app on a fresh database, and tokens for its users."""

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from target_ledger.api.auth import issue_token
from target_ledger.app import create_app
from target_ledger.config import Settings


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def auth(settings: Settings):
    """Headers carrying a token for a subject and role."""

    def headers(subject: str, role: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings.secret(), subject, role)}"}

    return headers
