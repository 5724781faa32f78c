"""The console's session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS, ending with the token it came from."""

import asyncio
import re
import time
from datetime import timedelta
from types import SimpleNamespace

from litestar.testing import AsyncTestClient

from target_ledger.api.auth import issue_token
from target_ledger.app import create_app
from target_ledger.console import session
from tests.api.support import build_east


async def sign_in(client: AsyncTestClient, token: str):
    page = await client.get("/console/sign-in")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    form = {"token": token, "_csrf_token": csrf[1]}
    return await client.post("/console/sign-in", data=form, follow_redirects=False)


def session_cookie(answer) -> str:
    [cookie] = [c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session=")]
    return cookie.lower()


async def test_the_session_cookie_is_httponly_and_lax_and_secure_only_over_https(client, auth, settings, clock) -> None:
    await build_east(client, auth)
    # Over plain HTTP (a development server): HttpOnly and SameSite=Lax, not Secure, or the browser would drop it.
    answer = await sign_in(client, issue_token(settings.secret(), "lead1"))
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = session_cookie(answer)
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie.replace("samesite", "")
    # Over HTTPS: Secure as well.
    async with AsyncTestClient(create_app(settings, clock=clock), base_url="https://ledger.example") as secure:
        cookie = session_cookie(await sign_in(secure, issue_token(settings.secret(), "lead1")))
    assert "; secure" in cookie and "httponly" in cookie


async def test_the_session_ends_when_its_token_would_have_expired(client, auth, settings, clock) -> None:
    await build_east(client, auth)
    token = issue_token(settings.secret(), "lead1", ttl=timedelta(seconds=2))
    await sign_in(client, token)
    assert (await client.get("/console/me")).status_code == 200
    # The session holds the token's expiry; past it, pages send to the sign-in page again.
    await asyncio.sleep(2.1)
    answer = await client.get("/console/me", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in")


async def test_the_json_api_needs_no_csrf_token_and_the_console_no_bearer_token(client, auth) -> None:
    # The bearer API is untouched by the console's CSRF check: a POST with a token and no CSRF cookie works.
    await build_east(client, auth)
    # And a console page needs no bearer token: signed out, it answers with a redirect, not a 401.
    answer = await client.get("/console/dashboard", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in")


async def test_odd_inputs_to_console_pages_get_a_page_never_a_500(client, auth, settings) -> None:
    await build_east(client, auth)
    await sign_in(client, issue_token(settings.secret(), "lead1"))
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', (await client.get("/console/me")).text)
    assert csrf
    odd = ["", "x" * 65, "../../etc", "2026-Q9", "%00", "东区", "' OR 1=1 --"]
    for value in odd:
        for name in ("node", "period", "metric", "breakdown", "min_position"):
            answer = await client.get("/console/dashboard", params={name: value})
            assert answer.status_code < 500 and "text/html" in answer.headers["content-type"], (name, value)
        for form in ({"value": value, "date": value, "metric": value}, {"answer": value, "comment": value}):
            answer = await client.post("/console/me/actuals", data={**form, "_csrf_token": csrf[1]})
            assert answer.status_code < 500, (form, answer.text)
    form = {"answer": "acknowledge", "_csrf_token": csrf[1]}
    answer = await client.post(f"/console/me/targets/{'0' * 32}/response", data=form)
    assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]


def _cookie(answer, name: str) -> str:
    return next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")).lower()


async def test_every_console_cookie_is_secure_over_https(settings, clock) -> None:
    # The session cookie was; the CSRF and language cookies were not.
    async with AsyncTestClient(create_app(settings, clock=clock), base_url="https://ledger.example") as secure:
        page = await secure.get("/console/sign-in", params={"lang": "zh-CN"})
    assert "; secure" in _cookie(page, "console_csrf") and "; secure" in _cookie(page, "console_lang")


async def test_a_session_lasts_at_most_its_cap_whatever_the_tokens_expiry(client, auth, settings, monkeypatch) -> None:
    await build_east(client, auth)
    await sign_in(client, issue_token(settings.secret(), "lead1", ttl=timedelta(days=36500)))
    assert (await client.get("/console/me")).status_code == 200
    # SESSION_HOURS later (the clock the session reads moved on), the page sends to the sign-in page.
    later = time.time() + session.SESSION_HOURS * 3600 + 60
    monkeypatch.setattr(session, "time", SimpleNamespace(time=lambda: later))
    answer = await client.get("/console/me", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in")


async def test_a_planted_csrf_cookie_and_token_do_not_carry_the_signed_in_persons_form(client, auth, settings) -> None:
    await build_east(client, auth)
    await sign_in(client, issue_token(settings.secret(), "lead1"))
    # An attacker's own valid pair (cookie and form token, from a visit of their own), planted in lead1's browser.
    lead1 = client.cookies.get("console_session")
    client.cookies.clear()
    planted = re.search(r'name="_csrf_token" value="([^"]+)"', (await client.get("/console/sign-in")).text)[1]
    assert client.cookies.get("console_csrf") == planted
    client.cookies.set("console_session", lead1, path="/console")
    form = {"metric": "revenue", "date": "2026-07-01", "value": "1", "_csrf_token": planted}
    answer = await client.post("/console/me/actuals", data=form)
    assert answer.status_code == 403 and "security token" in answer.text
