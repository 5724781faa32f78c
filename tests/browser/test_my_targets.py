"""A rep answers a target and records an actual from My targets; forms without their CSRF token are refused."""

from playwright.async_api import BrowserContext

from tests.browser.conftest import figure, screenshot, serious_violations, sign_in
from tests.browser.org import Ledger


async def test_a_rep_acknowledges_a_target_and_records_an_actual_and_the_dashboard_updates(
    ledger: Ledger, context: BrowserContext
) -> None:
    page = await context.new_page()
    await sign_in(page, ledger, "rep1")
    await page.goto(f"{ledger.url}/console/me")
    row = page.locator("#my-targets tbody tr").first
    assert await row.locator('[data-figure="acknowledgement"]').inner_text() == "Not yet answered"
    # rep1 acknowledges the 600.00 of east-1's split.
    await page.get_by_label("Comment").fill("agreed with lead1")
    await page.get_by_role("button", name="Acknowledge").click()
    await page.wait_for_url("**/console/me?min_position=*")
    assert await row.locator('[data-figure="acknowledgement"]').inner_text() == "Acknowledged"
    assert await page.get_by_role("button", name="Acknowledge").count() == 0  # answered: no form to answer again
    target = await ledger.api.get(
        f"/v1/targets/{await row.get_attribute('data-target')}", headers=ledger.headers("rep1")
    )
    assert target.json()["acknowledgement"] == "acknowledged"
    # A value that is not a number is named beside its field; nothing is recorded.
    await page.get_by_label("Value").fill("twelve")
    await page.get_by_role("button", name="Record", exact=True).click()
    assert "Invalid decimal" in await page.locator("#e-value").inner_text()  # the API's words for the API's rule
    # Then 49.75 on the 14th of August: rep1's actual goes from 150.25 to 200.00.
    await page.get_by_label("Value").fill("49.75")
    await page.get_by_label("Date").fill("2026-08-14")
    # The page is already at a ?min_position= address (the acknowledgement's): wait for the new navigation.
    async with page.expect_navigation(url="**/console/me?min_position=*"):
        await page.get_by_role("button", name="Record", exact=True).click()
    assert figure(await row.locator('[data-figure="actual"]').inner_text()) == 200
    await screenshot(page, "my-targets")
    # The dashboard shows it, as the API does.
    await page.goto(f"{ledger.url}/console/dashboard?node=rep1&period=2026-Q3")
    shown = await page.locator('#standings tr[data-node="rep1"] [data-figure="actual"]').inner_text()
    assert (await ledger.attainment("rep1", node="rep1"))["row"]["actual"] == "200.00" and figure(shown) == 200


async def test_a_dispute_without_a_comment_is_named_beside_the_comment(ledger: Ledger, context: BrowserContext) -> None:
    page = await context.new_page()
    await sign_in(page, ledger, "rep2")
    await page.goto(f"{ledger.url}/console/me")
    await page.get_by_role("button", name="Dispute").click()
    # The application's rule, next to the field it names; the target is not disputed.
    assert "a dispute needs a comment" in await page.locator("p.error").first.inner_text()
    assert await page.locator('[data-figure="acknowledgement"]').first.inner_text() == "Not yet answered"


async def test_a_form_without_its_csrf_token_is_refused(ledger: Ledger, context: BrowserContext) -> None:
    page = await context.new_page()
    await sign_in(page, ledger, "rep3")
    assert (await ledger.attainment("rep3", node="rep3"))["row"]["actual"] == "300"
    # The session cookie alone (as a forged cross-site form would send it) does not record an actual.
    form = {"metric": "revenue", "date": "2026-08-14", "value": "1000"}
    answer = await context.request.post(f"{ledger.url}/console/me/actuals", form=form, max_redirects=0)
    assert answer.status == 403
    assert "security token" in await answer.text()
    # With the page's token the same form goes through.
    token = await page.locator('input[name="_csrf_token"]').first.get_attribute("value")
    answer = await context.request.post(
        f"{ledger.url}/console/me/actuals", form={**form, "_csrf_token": token or ""}, max_redirects=0
    )
    assert answer.status == 303
    ledger.position = int(answer.headers["location"].rpartition("min_position=")[2])  # what the page waits for
    assert (await ledger.attainment("rep3", node="rep3"))["row"]["actual"] == "1300"


async def test_my_targets_passes_an_accessibility_scan(ledger: Ledger, context: BrowserContext) -> None:
    page = await context.new_page()
    await sign_in(page, ledger, "rep2")
    await page.goto(f"{ledger.url}/console/me")
    assert await serious_violations(page) == []
    await page.get_by_label("Value").fill("x")  # with an error shown beside a field
    await page.get_by_role("button", name="Record", exact=True).click()
    assert await serious_violations(page) == []
