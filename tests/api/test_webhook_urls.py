"""A webhook may not point the ledger at its own network, unless the operator allows it."""

import msgspec
from litestar.testing import AsyncTestClient

from target_ledger.app import create_app


async def test_a_webhook_to_a_loopback_or_private_address_is_refused_by_default(settings, auth) -> None:
    strict = msgspec.structs.replace(settings, webhook_allow_private=False)
    async with AsyncTestClient(create_app(strict)) as client:
        for url in ("http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://localhost/x"):
            r = await client.post("/v1/webhooks", json={"url": url}, headers=auth("bi", "integration"))
            assert r.status_code in (400, 422), (url, r.text)
            assert r.json()["errors"][0]["field"] == "url" and "TL_WEBHOOK_ALLOW_PRIVATE" in r.text
