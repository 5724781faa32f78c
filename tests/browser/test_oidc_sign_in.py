"""In Chromium: a manager signs in to the console with the identity provider the test started (issue 17 §1)."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import BrowserContext

from target_ledger.app import create_app
from target_ledger.config import Settings
from tests.api.conftest import Clock
from tests.api.identity_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider, serving_in_thread
from tests.api.live import serving
from tests.browser.conftest import TODAY, screenshot, serious_violations
from tests.browser.org import Ledger, seed
from tests.conftest import fresh_database


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    idp = IdentityProvider()
    idp.add_key("ES256")
    with serving_in_thread(idp):
        yield idp


@pytest.fixture(scope="module")
async def oidc_ledger(server_url, template_db, tmp_path_factory, provider) -> AsyncIterator[Ledger]:
    """The small org, served with the identity provider configured as the console's issuer."""
    clock = Clock()
    clock.set(TODAY)
    async with fresh_database(server_url, template_db) as url:
        settings = Settings(
            database_url=url,
            data_dir=str(tmp_path_factory.mktemp("oidc")),
            jwt_secret="test-secret-for-the-oidc-sign-in-0123",
            scheduler_interval=3600,
            oidc_issuer=provider.url,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
        )
        async with serving(create_app(settings, clock=clock)) as base, httpx.AsyncClient(base_url=base) as api:
            ledger = Ledger(base, api, settings.secret())
            await seed(ledger)
            yield ledger


async def test_a_manager_signs_in_with_the_identity_provider(context: BrowserContext, oidc_ledger, provider):
    provider.user = {"sub": "east-boss"}
    page = await context.new_page()
    # The sign-in page offers the identity provider beside the development token.
    await page.goto(f"{oidc_ledger.url}/console/sign-in")
    button = page.get_by_role("button", name=f"Sign in with {provider.url}")
    await screenshot(page, "oidc-sign-in")
    assert await serious_violations(page) == []
    # One click: to the provider, which approves, and back through the callback to the dashboard.
    await button.click()
    await page.wait_for_url("**/console/dashboard**")
    assert await page.locator(".who").inner_text() == "east-boss"
    # The session is the console's cookie, HttpOnly; nothing of the sign-in is left in the page's address.
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["console_session"]["httpOnly"] and "code=" not in page.url


async def test_a_refused_sign_in_is_told_on_the_sign_in_page_in_chinese(browser, oidc_ledger, provider):
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    # The provider answers with an id_token made for another sign-in (its nonce is not this one's).
    provider.user = {"sub": "east-boss", "nonce": "from-another-sign-in"}
    await page.goto(f"{oidc_ledger.url}/console/sign-in")
    await page.get_by_role("button", name=f"使用 {provider.url} 登录").click()
    await page.wait_for_url("**/console/oidc/callback**")
    # Then the sign-in page says why, in Chinese, beside the provider's button, and nobody is signed in.
    alert = page.locator("#e-oidc")
    assert "身份提供方的应答未通过校验" in await alert.inner_text() and "nonce" in await alert.inner_text()
    assert await page.locator(".who").count() == 0
    await screenshot(page, "oidc-sign-in-refused-zh")
    assert await serious_violations(page) == []
    await context.close()
