"""The console in a real browser: the service on a port with its own database and a small org, and Chromium."""

import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from target_ledger.api.auth import issue_token
from target_ledger.app import create_app
from target_ledger.config import Settings
from tests.api.conftest import Clock
from tests.api.live import serving
from tests.browser.org import Ledger, seed
from tests.conftest import fresh_database

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright's own build cannot be downloaded here
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
TODAY = "2026-08-15"  # the served clock: half-way through 2026-Q3


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the whole run (the async API: pytest-asyncio's loop drives it)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="module")
async def ledger(server_url: str, template_db: str, tmp_path_factory) -> AsyncIterator[Ledger]:
    """One served app per test module, on a fresh database, seeded through the API."""
    data = tmp_path_factory.mktemp("console")
    clock = Clock()
    clock.set(TODAY)
    async with fresh_database(server_url, template_db) as url:
        settings = Settings(
            database_url=url,
            data_dir=str(data),
            jwt_secret="test-secret-for-the-console-0123456789",
            scheduler_interval=3600,
        )
        async with (
            serving(create_app(settings, clock=clock)) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as api,
        ):
            ledger = Ledger(base, api, settings.secret())
            await seed(ledger)
            yield ledger


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile per test: no cookies, English unless a test asks."""
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    yield context
    await context.close()


async def sign_in(page: Page, ledger: Ledger, subject: str, role: str | None = None) -> None:
    """Through the sign-in page, pasting a development token as a person would."""
    await page.goto(f"{ledger.url}/console/sign-in")
    await page.locator("#f-token").fill(issue_token(ledger.secret, subject, role))  # any language
    await page.locator("form.card button[type=submit]").click()
    await page.wait_for_url("**/console/dashboard**")


async def serious_violations(page: Page) -> list[str]:
    """axe-core's (bundled with axe-playwright-python) serious and critical findings on the page."""
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def figure(text: str) -> Decimal | None:
    """A figure as the page shows it (`1,000.00`, `24.97%`, `—`), as a Decimal to compare with the API's."""
    cleaned = text.strip().replace(",", "").replace("%", "").replace("\u00a0", "")
    return None if cleaned in ("", "—") else Decimal(cleaned)


async def screenshot(page: Page, name: str) -> None:
    """Kept as a test artifact (tests/browser/artifacts/, not committed)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
