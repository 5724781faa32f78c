"""A manager and a rep use the dashboard in a real browser: the API's figures to the cent, drill-down, access."""

from decimal import Decimal

from playwright.async_api import BrowserContext, Page

from target_ledger.api.auth import issue_token
from tests.browser.conftest import figure, screenshot, serious_violations, sign_in
from tests.browser.org import Ledger

FIGURES = {"target": "target", "actual": "actual", "attainment": "attainment_pct", "gap": "gap"}
FIGURES |= {"expected": "expected", "pace": "pace_pct"}


async def shown(page: Page, node: str) -> dict[str, Decimal | None]:
    """The figures of one node's row of the standings table."""
    row = page.locator(f'#standings tr[data-node="{node}"]')
    return {name: figure(await row.locator(f'[data-figure="{name}"]').inner_text()) for name in FIGURES}


def expected(api_row: dict) -> dict[str, Decimal | None]:
    return {name: None if api_row[key] is None else Decimal(api_row[key]) for name, key in FIGURES.items()}


async def test_a_manager_sees_the_api_figures_to_the_cent_and_drills_into_a_person(
    ledger: Ledger, context: BrowserContext
) -> None:
    page = await context.new_page()
    # east-boss signs in and opens east-1's quarter.
    await sign_in(page, ledger, "east-boss")
    await page.goto(f"{ledger.url}/console/dashboard?node=east-1&period=2026-Q3&metric=revenue")
    api = await ledger.attainment("east-boss", node="east-1", breakdown="children")
    # The team's row and each member's equal GET /v1/attainment's, figure by figure.
    assert await shown(page, "east-1") == expected(api["row"])
    for child in api["breakdown"]:
        assert await shown(page, child["node"]) == expected(child), child["node"]
    assert await page.locator("svg.chart").count() == 2  # the weekly bars and the cumulative lines
    await screenshot(page, "dashboard")
    # A click on rep1 drills into rep1, whose row is the API's too.
    await page.locator('#standings a:text-is("rep1")').click()
    await page.wait_for_url("**node=rep1**")
    person = await ledger.attainment("east-boss", node="rep1", breakdown="time")
    assert await shown(page, "rep1") == expected(person["row"])
    assert person["row"]["actual"] == "150.25"


async def test_a_rep_cannot_see_another_regions_dashboard(ledger: Ledger, context: BrowserContext) -> None:
    page = await context.new_page()
    await sign_in(page, ledger, "rep1")
    # rep1 of east asks for west's dashboard: the 403 page, naming the rule, and no figure of west.
    answer = await page.goto(f"{ledger.url}/console/dashboard?node=west&period=2026-Q3")
    assert answer is not None and answer.status == 403
    assert await page.locator("h1").inner_text() == "Not allowed"
    # What the page shows, not its markup: the sign-out form's CSRF token is 128 random hex digits,
    # which hold "800" about one time in thirty (a CI run failed so).
    shown_text = await page.inner_text("body")
    assert "800" not in shown_text and "Status 403" in shown_text
    await screenshot(page, "forbidden")


async def test_signed_out_pages_send_to_sign_in_and_a_bad_token_is_named_beside_its_field(
    ledger: Ledger, context: BrowserContext
) -> None:
    page = await context.new_page()
    # Signed out, the dashboard sends to the sign-in page.
    await page.goto(f"{ledger.url}/console/dashboard?node=east-1&period=2026-Q3")
    assert "/console/sign-in" in page.url
    # A token that is not one is refused, the reason shown under the field.
    await page.locator("#f-token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    assert "the bearer token was refused" in await page.locator("#e-token").inner_text()
    assert await page.locator("#f-token").get_attribute("aria-invalid") == "true"
    # Signed in from there, lead1 lands on the page asked for; signed out, it sends to sign in once more.
    await page.locator("#f-token").fill(issue_token(ledger.secret, "lead1"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/dashboard?node=east-1&period=2026-Q3")
    await page.get_by_role("button", name="Sign out").click()
    await page.goto(f"{ledger.url}/console/dashboard")
    assert "/console/sign-in" in page.url


async def test_the_dashboard_in_chinese(ledger: Ledger, browser) -> None:
    # A browser asking for Chinese gets the dashboard in Chinese, numbers formatted for zh-CN.
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, ledger, "lead1")
    await page.goto(f"{ledger.url}/console/dashboard?node=east-1&period=2026-Q3")
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    assert (await page.locator("h1").inner_text()).startswith("团队看板")
    assert "完成率" in await page.locator("#standings thead").inner_text()
    assert await page.locator('#standings tr[data-node="east-1"] [data-figure="target"]').inner_text() == "1,000.00"
    await screenshot(page, "dashboard-zh-CN")
    # The switch to English stays on the same dashboard, and holds for the next page.
    await page.get_by_role("link", name="English").click()
    await page.wait_for_url("**lang=en**")
    assert "node=east-1" in page.url and await page.locator("h1").inner_text() == "Dashboard: East 1 2026-Q3 · revenue"
    await page.goto(f"{ledger.url}/console/me")
    assert await page.locator("h1").inner_text() == "My targets"
    await context.close()


async def test_the_dashboard_sign_in_and_error_pages_pass_an_accessibility_scan(
    ledger: Ledger, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(f"{ledger.url}/console/sign-in")
    assert await serious_violations(page) == []
    await sign_in(page, ledger, "east-boss")
    for path in ["dashboard?node=east&period=2026-Q3", "dashboard?node=east-1&period=2026-Q3&breakdown=time"]:
        await page.goto(f"{ledger.url}/console/{path}")
        assert await serious_violations(page) == [], path
    # A count is shown whole, money to the cent.
    await page.goto(f"{ledger.url}/console/dashboard?node=east&period=2026-Q3&metric=calls")
    assert await page.locator('#standings tr.total [data-figure="actual"]').inner_text() == "0"
    await page.goto(f"{ledger.url}/console/dashboard?node=west&period=2026-Q3")  # the 403 page
    assert await serious_violations(page) == []
    await page.goto(f"{ledger.url}/console/no-such-page")
    assert await serious_violations(page) == []
    # A phone's width: the same page, still without a serious finding.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{ledger.url}/console/dashboard?node=east-1&period=2026-Q3")
    assert await serious_violations(page) == []
    await screenshot(page, "dashboard-phone")


async def test_a_period_the_ledger_refuses_is_named_beside_the_period_field(
    ledger: Ledger, context: BrowserContext
) -> None:
    page = await context.new_page()
    await sign_in(page, ledger, "east-boss")
    await page.goto(f"{ledger.url}/console/dashboard?node=east&period=2026-Q3")
    # A period typed wrong: the form comes back with the calendar's rule under the field, no figures.
    await page.get_by_label("Period").fill("2026-Q5")
    await page.get_by_role("button", name="Show").click()
    assert "is not a period key" in await page.locator("#e-period").inner_text()
    assert await page.get_by_label("Period").get_attribute("aria-invalid") == "true"
    assert await page.locator("#standings").count() == 0
    assert await serious_violations(page) == []


async def test_no_page_fetches_anything_from_outside_the_service(ledger: Ledger, context: BrowserContext) -> None:
    page = await context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    await sign_in(page, ledger, "east-boss")
    for path in ["dashboard?node=east-1&period=2026-Q3", "me", "dashboard?node=east&period=2026-Q3&lang=zh_CN"]:
        await page.goto(f"{ledger.url}/console/{path}")
    assert fetched and all(url.startswith(ledger.url) for url in fetched), fetched
    # And the browser is told to fetch nothing from elsewhere, whatever a page might hold.
    answer = await page.goto(f"{ledger.url}/console/dashboard")
    assert answer is not None and "default-src 'self'" in answer.headers["content-security-policy"]
