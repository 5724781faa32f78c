"""Webhooks are checked where they connect: a host that resolves into the ledger's own network
later (DNS rebinding), or a URL registered while that was allowed, is never delivered to."""

import asyncio
import socket

import pytest

from tests.api.feed_support import INTEGRATION, build_east, team_target
from tests.api.live import Receiver, live_api, serving, until

FAST = {"webhook_backoff": 0.05, "webhook_backoff_max": 0.2, "webhook_poll": 0.1, "webhook_max_failures": 3}
PUBLIC = "93.184.216.34"  # a public address; nothing connects to it in these tests


class FakeDns:
    """The test's own name server: answers for the names it holds, asks the system for the rest.
    Registration and delivery both resolve through the event loop, so both ask it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.names: dict[str, str] = {}
        self.system = loop.getaddrinfo

    async def __call__(self, host, port, *, family=0, type=0, proto=0, flags=0):
        if host in self.names:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (self.names[host], port or 0))]
        return await self.system(host, port, family=family, type=type, proto=proto, flags=flags)


@pytest.fixture
async def dns(monkeypatch) -> FakeDns:
    loop = asyncio.get_running_loop()
    fake = FakeDns(loop)
    monkeypatch.setattr(loop, "getaddrinfo", fake)
    return fake


async def _subscribe(api, auth, url: str) -> dict:
    r = await api.post("/v1/webhooks", json={"url": url, "after": 0}, headers=auth(*INTEGRATION))
    assert r.status_code == 201, r.text
    return r.json()


async def _refused_until_paused(api, auth, hook: dict, receiver: Receiver) -> list[dict]:
    """Wait until the subscription pauses (or, wrongly, the receiver got a call); its attempts."""

    async def settled() -> bool:
        r = await api.get(f"/v1/webhooks/{hook['id']}", headers=auth(*INTEGRATION))
        return r.json()["status"] == "paused" or bool(receiver.calls)

    await until(settled, "the subscription to pause")
    r = await api.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(*INTEGRATION))
    return r.json()


async def test_a_webhook_host_that_resolves_to_loopback_after_registration_is_never_delivered_to(
    settings, clock, auth, dns
) -> None:
    receiver = Receiver()
    async with serving(receiver) as url, live_api(settings, clock, webhook_allow_private=False, **FAST) as api:
        port = url.rsplit(":", 1)[1]
        # Registered while the name pointed at a public address...
        dns.names["hooks.example"] = PUBLIC
        hook = await _subscribe(api, auth, f"http://hooks.example:{port}/hook")
        # ...which now points at the ledger's own host, where the receiver listens.
        dns.names["hooks.example"] = "127.0.0.1"
        await build_east(api, auth)
        await team_target(api, auth, value="1000", period="2026-Q4")
        attempts = await _refused_until_paused(api, auth, hook, receiver)
    assert receiver.calls == []
    # Each refusal is a failed attempt naming the address, retried and then paused like any failure.
    assert len(attempts) == FAST["webhook_max_failures"]
    for attempt in attempts:
        assert attempt["delivered"] is False and attempt["status_code"] is None
        assert "127.0.0.1 is not a public address" in attempt["error"], attempt


async def test_a_webhook_registered_while_private_addresses_were_allowed_is_not_delivered_once_they_are_not(
    settings, clock, auth
) -> None:
    receiver = Receiver()
    async with serving(receiver) as url:
        async with live_api(settings, clock, webhook_allow_private=True, run_webhooks=False) as api:
            hook = await _subscribe(api, auth, f"{url}/hook")
            await build_east(api, auth)
        # The operator turned TL_WEBHOOK_ALLOW_PRIVATE off: the stored URL is refused at delivery.
        async with live_api(settings, clock, webhook_allow_private=False, **FAST) as api:
            await team_target(api, auth, value="1000", period="2026-Q4")
            attempts = await _refused_until_paused(api, auth, hook, receiver)
    assert receiver.calls == []
    assert attempts and all("127.0.0.1 is not a public address" in a["error"] for a in attempts)


@pytest.mark.parametrize("allow_private", [False, True], ids=["private refused", "private allowed"])
async def test_a_webhook_url_whose_host_does_not_parse_is_a_422_naming_url(
    settings, clock, auth, allow_private
) -> None:
    async with live_api(settings, clock, webhook_allow_private=allow_private, run_webhooks=False) as api:
        for bad in ("http://[zz]/hook", "http://:80/hook"):
            r = await api.post("/v1/webhooks", json={"url": bad}, headers=auth(*INTEGRATION))
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["errors"][0]["field"] == "url"


async def test_a_webhook_host_resolving_to_a_private_address_inside_ipv6_or_to_cloud_metadata_is_refused(
    settings, clock, auth, dns
) -> None:
    async with live_api(settings, clock, webhook_allow_private=False, run_webhooks=False) as api:
        for address in (
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "::127.0.0.1",
            "::a9fe:a9fe",
            "169.254.169.254",
            "100.64.0.1",
        ):
            dns.names["hooks.example"] = address
            r = await api.post("/v1/webhooks", json={"url": "https://hooks.example/x"}, headers=auth(*INTEGRATION))
            assert r.status_code == 422, (address, r.text)
            assert r.json()["errors"][0]["field"] == "url" and address in r.text
