"""Console sign-in with OpenID Connect: authorization code with PKCE, state and nonce (issue 17 §1)."""

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.api.identity_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.api.live import live_api
from tests.api.support import build_east


@pytest.fixture
async def console(settings, clock, auth, idp: IdentityProvider) -> AsyncIterator[httpx.AsyncClient]:
    """The service on a real port (the browser goes to the issuer and back), with the issuer configured
    and the east region's people (rep1 among them)."""
    configured = {"oidc_issuer": idp.url, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET}
    async with live_api(settings, clock, **configured) as client:
        await build_east(client, auth)
        yield client


def browser(console: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser (cookies of its own) on the same console."""
    return httpx.AsyncClient(base_url=console.base_url, timeout=30)


async def signed_in_as(client: httpx.AsyncClient) -> str | None:
    r = await client.get("/console/me")
    if r.status_code != 200:
        return None
    return r.text.split('<span class="who">', 1)[1].split("<", 1)[0]


async def to_callback(client: httpx.AsyncClient) -> str:
    """Start a sign-in and let the issuer approve it; the callback URL it sends the browser to (not followed)."""
    start = await client.get("/console/oidc/sign-in", params={"next": "/console/me"})
    assert start.status_code == 303, start.text
    approved = await client.get(start.headers["location"])
    assert approved.status_code in (302, 303), approved.text
    return approved.headers["location"]


def with_query(url: str, **changed: str) -> str:
    parts = urlsplit(url)
    return parts._replace(query=urlencode(dict(parse_qsl(parts.query)) | changed)).geturl()


async def test_oidc_sign_in_ends_signed_in_to_the_console(console, idp):
    idp.user = {"sub": "rep1"}
    # The sign-in page offers the issuer, in English and in Chinese.
    page = await console.get("/console/sign-in")
    assert f"Sign in with {idp.url}" in page.text
    assert f"使用 {idp.url} 登录" in (await console.get("/console/sign-in", headers={"Accept-Language": "zh-CN"})).text
    # The browser goes to the issuer with a PKCE challenge, a state and a nonce.
    start = await console.get("/console/oidc/sign-in", params={"next": "/console/me"})
    asked = dict(parse_qsl(urlsplit(start.headers["location"]).query))
    assert start.headers["location"].startswith(f"{idp.url}/authorize?")
    assert asked["code_challenge_method"] == "S256" and asked["state"] and asked["nonce"]
    assert asked["redirect_uri"] == f"{console.base_url}/console/oidc/callback"
    # Following every redirect, it comes back signed in as the issuer's subject, on the page it asked for.
    done = await console.get(start.headers["location"], follow_redirects=True)
    assert (done.status_code, done.url.path) == (200, "/console/me"), done.text
    assert await signed_in_as(console) == "rep1"
    # The session it started is in an HttpOnly, SameSite=Lax cookie.
    cookie = next(v for k, v in done.history[-1].headers.multi_items() if k == "set-cookie" and "console_session" in v)
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert not idp.codes  # the code was exchanged, once


async def test_a_tampered_state_is_refused_and_the_sign_in_cannot_be_retried(console, idp):
    callback = await to_callback(console)
    # The state coming back is not the one the console sent: refused, nobody signed in.
    r = await console.get(with_query(callback, state="forged-state"))
    assert r.status_code == 400 and "state does not match" in r.text
    assert await signed_in_as(console) is None
    # The untouched callback does not work afterwards either: a sign-in is tried once.
    r = await console.get(callback)
    assert r.status_code == 400 and "start again" in r.text
    assert await signed_in_as(console) is None


async def test_a_code_with_another_browsers_pkce_challenge_is_refused(console, idp):
    async with browser(console) as victim:
        # The attacker's browser gets a code for its own sign-in, and slips it into the victim's.
        stolen = dict(parse_qsl(urlsplit(await to_callback(console)).query))["code"]
        victims_callback = await to_callback(victim)
        r = await victim.get(with_query(victims_callback, code=stolen))
        # Then the issuer refuses the victim's PKCE verifier for that code, and nobody is signed in.
        assert r.status_code == 401 and "invalid_grant" in r.text, r.text
        assert await signed_in_as(victim) is None


async def test_an_id_token_with_another_nonce_is_refused(console, idp):
    # The issuer (or someone replaying an old answer) gives an id_token made for another sign-in.
    idp.user = {"sub": "rep1", "nonce": "from-another-sign-in"}
    r = await console.get(await to_callback(console))
    assert r.status_code == 401 and "nonce" in r.text, r.text
    assert await signed_in_as(console) is None


async def test_starting_a_sign_in_keeps_whoever_is_signed_in_until_its_callback_succeeds(console, idp):
    idp.user = {"sub": "rep1"}
    await console.get(await to_callback(console))
    assert await signed_in_as(console) == "rep1"
    # Another sign-in started (a link, a stray click) used to replace the session: rep1 was signed out.
    idp.user = {"sub": "rep2"}
    callback = await to_callback(console)
    assert await signed_in_as(console) == "rep1"
    # Refused at the callback, it ends there; rep1 is still signed in.
    r = await console.get(with_query(callback, state="forged-state"))
    assert r.status_code == 400 and await signed_in_as(console) == "rep1"
