"""The approver's, auditor's and assignee's console pages in Chromium: inbox, target, alerts, review, audit."""

import asyncio
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import BrowserContext, Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.browser.org import Ledger

# What sticks out past the right edge (for the failure message): the first few elements, named.
WIDER_THAN_THE_SCREEN = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 12)"""
ASK = {
    "reason_category": "market_change",
    "justification": "a key customer went bankrupt",
    "evidence": ["https://crm.example/acct/77"],
}


async def _open(context: BrowserContext, ledger: Ledger, who: str, path: str, role: str | None = None) -> Page:
    """A console page, signed in as `who` through the sign-in page."""
    page = await context.new_page()
    await sign_in(page, ledger, who, role)
    await page.goto(f"{ledger.url}{path}")
    return page


async def _accessible(page: Page, name: str) -> None:
    """No serious or critical axe-core violation on the page as it stands; its screenshot kept."""
    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, (name, results.generate_snapshot())
    await screenshot(page, name)


async def _caught_up(ledger: Ledger, path: str) -> None:
    """Hold until the read model behind an API list has every write so far (its min_position)."""
    r = await ledger.api.get(path, params={"min_position": ledger.position}, headers=ledger.headers("root", "admin"))
    assert r.status_code == 200, r.text


async def _second() -> datetime:
    """A whole second strictly between what was recorded before it and what is recorded after it
    (the page's time box is to the second)."""
    await asyncio.sleep(1.1)
    instant = datetime.now(UTC).replace(microsecond=0)
    await asyncio.sleep(1.1)
    return instant


async def test_an_approver_approves_in_the_inbox_and_the_target_page_tells_the_story(
    ledger: Ledger, context: BrowserContext
) -> None:
    # lead1 asks for 5 % less on east-1's quarter (the rule: a superior approves, as the seed documents' 目标调整 asks).
    path = f"/v1/targets/{ledger.team_target}/adjustments"
    asked = await ledger.post(path, {**ASK, "new_value": "950"}, "lead1", None)
    before_approval = await _second()
    await _caught_up(ledger, "/v1/adjustments")
    # east-boss, the region's manager, sees it in the inbox with its justification, evidence and impact.
    page = await _open(context, ledger, "east-boss", "/console/inbox")
    request = page.locator("section.card", has_text="a key customer went bankrupt")
    await expect(request).to_contain_text("https://crm.example/acct/77")
    impact = request.get_by_role("row", name="east-1")
    await expect(impact).to_contain_text("1,000.00")
    await expect(impact).to_contain_text("950.00")
    await expect(request.locator(".approvals")).to_contain_text("0 of 1")
    await _accessible(page, "console-inbox")
    # Approving it from the keyboard (focus the button, press Enter) empties the inbox.
    await request.get_by_role("button", name="Approve").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("No request is waiting for your approval.")).to_be_visible()
    # The inbox came back at ?after=<the approval's position>: the timeline's read model is held to it too.
    ledger.position = int(parse_qs(urlparse(page.url).query)["after"][0])
    await _caught_up(ledger, "/v1/audit")
    # The target page shows the new value, and the approval in the timeline with who approved.
    await page.goto(f"{ledger.url}/console/targets/{ledger.team_target}")
    await expect(page.locator("#target-value")).to_have_text("950.00")
    timeline = page.locator("#timeline")
    await expect(timeline.locator("li", has_text="Approved")).to_contain_text("east-boss")
    await expect(timeline.locator("li", has_text="Value changed")).to_contain_text("1,000.00 → 950.00")
    requested = timeline.locator("li", has_text="Adjustment requested")
    await expect(requested).to_contain_text("a key customer went bankrupt")
    # As known on a moment before the approval, the ledger held the old value.
    await page.get_by_label("Date").fill(before_approval.date().isoformat())
    await page.get_by_label("Time (UTC, optional)").fill(before_approval.strftime("%H:%M:%S"))
    await page.get_by_label("Time (UTC, optional)").press("Enter")  # the form is sent from the keyboard too
    await expect(page.locator("#as-of-answer")).to_contain_text("1,000.00")
    await screenshot(page, "console-target")
    assert asked["status"] == "pending"


async def test_an_auditor_finds_the_change_in_audit_search(ledger: Ledger, context: BrowserContext) -> None:
    # west-boss asks to cut West's quarter; the CEO approves it through the API.
    west = (await ledger.api.get("/v1/targets", params={"node": "west"}, headers=ledger.headers("ceo"))).json()
    target_id = next(t["id"] for t in west["items"] if t["period"] == "2026-Q3")
    body = {**ASK, "reason_category": "policy_change", "justification": "subsidy withdrawn", "new_value": "760.00"}
    asked = await ledger.post(f"/v1/targets/{target_id}/adjustments", body, "west-boss", None)
    await ledger.post(f"/v1/adjustments/{asked['id']}/approve", {}, "ceo", None)
    await _caught_up(ledger, "/v1/audit")
    # An auditor searches by actor and reason, and finds who changed what, and why.
    page = await _open(context, ledger, "audit-1", "/console/audit", "auditor")
    await page.get_by_label("Actor").fill("ceo")
    await page.get_by_label("Reason").select_option("policy_change")
    await page.get_by_role("button", name="Search").click()
    results = page.locator("#audit-results")
    changed = results.get_by_role("row").filter(has_text="Value changed")
    await expect(changed).to_contain_text("west")
    await expect(changed).to_contain_text("800.00")
    await expect(changed).to_contain_text("760.00")
    await expect(results.get_by_role("row").filter(has_text="Approved")).to_contain_text("ceo")
    await screenshot(page, "console-audit")


async def test_a_bad_value_is_shown_beside_its_field_and_a_rep_cannot_open_another_regions_target(
    ledger: Ledger, context: BrowserContext
) -> None:
    page = await _open(context, ledger, "lead1", f"/console/targets/{ledger.team_target}")
    # Not a number: the console says so beside the box, and keeps what was typed.
    await page.get_by_label("New value").fill("nine hundred")
    await page.get_by_label("Justification", exact=True).fill("fewer visits possible")
    await page.get_by_role("button", name="Send the request").click()
    await expect(page.locator("#new_value-err")).to_have_text("Enter a number.")
    await expect(page.get_by_label("New value")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Justification", exact=True)).to_have_value("fewer visits possible")
    # The application's own rule (asking for the value it has: nothing changes) is shown beside its field too.
    now = (await ledger.api.get(f"/v1/targets/{ledger.team_target}", headers=ledger.headers("lead1"))).json()
    await page.get_by_label("New value").fill(now["value"])
    await page.get_by_role("button", name="Send the request").click()
    await expect(page.locator("#new_value-err")).to_contain_text("changes no target")
    # rep3 (West) may not read East's target: the API's 403, as a page.
    other = await context.browser.new_context(locale="en-GB")  # type: ignore[union-attr]
    rep = await other.new_page()
    await sign_in(rep, ledger, "rep3")
    response = await rep.goto(f"{ledger.url}/console/targets/{ledger.team_target}")
    assert response is not None and response.status == 403
    await other.close()


async def test_no_serious_or_critical_accessibility_violation_on_these_pages(
    ledger: Ledger, context: BrowserContext
) -> None:
    # A corrective action on rep1's quarter, so that the alerts page has one to show.
    rep1 = (await ledger.api.get("/v1/targets", params={"node": "rep1"}, headers=ledger.headers("lead1"))).json()
    cause = {"kind": "objective", "factor": "market", "description": "a competitor cut prices"}
    action = {"target_id": rep1["items"][0]["id"], "causes": [cause], "plan": "two more visits a week"}
    await ledger.post("/v1/corrective-actions", {**action, "owner": "rep1", "due": "2026-09-30"}, "lead1", None)
    # A request with a long evidence link on a target of its own, withdrawn (no inbox changes): the target's
    # timeline shows the link.
    q4 = {"node": "east-1", "metric": "revenue", "period": "2026-Q4", "value": "1000.00"}
    linked = (await ledger.post("/v1/targets", q4, "east-boss", None))["id"]
    link = "https://crm.example/accounts/" + "a" * 300
    asking = {"reason_category": "market_change", "justification": "prices cut", "evidence": [link], "new_value": "990"}
    asked = await ledger.post(f"/v1/targets/{linked}/adjustments", asking, "lead1", None)
    await ledger.post(f"/v1/adjustments/{asked['id']}/withdraw", {}, "lead1", None)
    page = await context.new_page()
    await sign_in(page, ledger, "ceo")
    pages = {
        "inbox": "/console/inbox",
        "target": f"/console/targets/{ledger.team_target}",
        "alerts": "/console/alerts",
        "review": "/console/reviews/2026-Q3?node=east",
        "audit": "/console/audit?node=acme",
        "long-evidence": f"/console/targets/{linked}?after={ledger.position}",  # the link wraps on a phone
    }
    for name, path in pages.items():
        response = await page.goto(f"{ledger.url}{path}")
        assert response is not None and response.status == 200, (name, response and response.status)
        await _accessible(page, f"console-{name}-page")
    # At a phone's width every page still fits: wide tables scroll inside their box, not the page.
    await page.set_viewport_size({"width": 390, "height": 844})
    for name, path in pages.items():
        await page.goto(f"{ledger.url}{path}")
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow, await page.evaluate(WIDER_THAN_THE_SCREEN))
        await screenshot(page, f"console-{name}-phone")
    await expect(page.locator(".evidence", has_text=link)).to_be_visible()  # the last page: the link is there


async def test_the_pages_speak_chinese(ledger: Ledger, browser) -> None:
    context = await browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    page = await context.new_page()
    await page.goto(f"{ledger.url}/console/sign-in")
    await page.locator("#f-token").fill(ledger.headers("east-boss")["Authorization"].removeprefix("Bearer "))
    await page.locator("form.card button[type=submit]").click()
    await page.goto(f"{ledger.url}/console/targets/{ledger.team_target}")
    await expect(page.get_by_role("heading", name="历史")).to_be_visible()
    await expect(page.get_by_role("button", name="提交申请")).to_be_visible()
    await page.goto(f"{ledger.url}/console/audit?node=east")
    await expect(page.get_by_role("heading", name="审计查询")).to_be_visible()
    await screenshot(page, "console-audit-zh")
    await context.close()


async def test_a_manager_opens_a_corrective_action_with_its_causes_follows_it_and_sees_its_effect(
    ledger: Ledger, context: BrowserContext
) -> None:
    rep2 = (await ledger.api.get("/v1/targets", params={"node": "rep2"}, headers=ledger.headers("lead1"))).json()
    target_id = rep2["items"][0]["id"]
    page = await _open(context, ledger, "lead1", "/console/alerts")
    # Cause analysis as the seed documents lay it out: objective (market, customer, competitor, policy)
    # and subjective (skill, effort) causes, then a plan with an owner and a due date.
    await page.get_by_text("Open a corrective action on any target").click()
    await page.locator("#target_id-new").fill(target_id)
    await page.locator("#kind-0-new").select_option("objective")
    await page.locator("#factor-0-new").select_option("competitor")
    await page.locator("#description-0-new").fill("a rival halved its prices")
    await page.locator("#kind-1-new").select_option("subjective")
    await page.locator("#factor-1-new").select_option("team")
    await page.locator("#plan-new").fill("weekly visits to the ten largest accounts")
    await page.locator("#owner-new").fill("nobody")
    await page.locator("#due-new").fill("2026-09-30")
    # An owner who is not a person of the organisation: the application's error, beside the owner box.
    await page.get_by_role("button", name="Open the action").click()
    await expect(page.locator("#owner-new-err")).to_contain_text("not a person")
    await expect(page.locator("#plan-new")).to_have_value("weekly visits to the ten largest accounts")
    await _accessible(page, "console-alerts-error")
    await page.locator("#owner-new").fill("rep2")
    await page.get_by_role("button", name="Open the action").click()
    action = page.locator("article", has_text="weekly visits to the ten largest accounts")
    await expect(action).to_contain_text("Competitor: a rival halved its prices")
    await expect(action).to_contain_text("Subjective · Team")
    # Progress, then completion: the measured effect (before → after) appears.
    await action.get_by_label("Progress note").fill("visited four of ten")
    await action.get_by_role("button", name="Record progress").click()
    await expect(action.locator(".notes")).to_contain_text("lead1: visited four of ten")
    await action.get_by_label("Outcome").fill("two accounts won back")
    await action.get_by_role("button", name="Complete").click()
    await expect(action).to_contain_text("Completed")
    await expect(action.locator("table.effect").get_by_role("row", name="Effect")).to_be_visible()
    await screenshot(page, "console-alerts")


async def test_the_review_page_downloads_its_exports_through_the_session(
    ledger: Ledger, context: BrowserContext
) -> None:
    page = await _open(context, ledger, "east-boss", "/console/reviews/2026-Q3?node=east-1")
    await expect(page.locator("#review-figures").get_by_role("row", name="rep1")).to_contain_text("150.25")
    # The links are the API's exports, answered for the signed-in person without a bearer token.
    links = {
        kind: await page.get_by_role("link", name=f"Download {kind}").get_attribute("href") for kind in ("CSV", "xlsx")
    }
    csv = await page.request.get(f"{ledger.url}{links['CSV']}")
    assert csv.status == 200 and "east-1" in await csv.text()
    xlsx = await page.request.get(f"{ledger.url}{links['xlsx']}")
    assert xlsx.status == 200 and (await xlsx.body())[:2] == b"PK"
    # Printed, the page leaves out its menus and links.
    await page.emulate_media(media="print")
    await expect(page.locator("header")).to_be_hidden()
    await expect(page.get_by_role("link", name="Download CSV")).to_be_hidden()
    await expect(page.locator("#review-figures")).to_be_visible()


async def test_the_assignee_disputes_only_with_a_reason_then_acknowledges(
    ledger: Ledger, context: BrowserContext
) -> None:
    rep1 = (await ledger.api.get("/v1/targets", params={"node": "rep1"}, headers=ledger.headers("rep1"))).json()
    page = await _open(context, ledger, "rep1", f"/console/targets/{rep1['items'][0]['id']}")
    # A dispute says why (the domain's rule): without a comment it is refused beside the comment box.
    await page.get_by_role("button", name="Dispute").click()
    await expect(page.locator("#comment-err")).to_be_visible()
    await expect(page.get_by_label("Comment (needed to dispute)")).to_have_attribute("aria-invalid", "true")
    # Acknowledged, the target says so.
    await page.get_by_label("Comment (needed to dispute)").fill("agreed at the kick-off")
    await page.get_by_role("button", name="Acknowledge").click()
    await expect(page.locator("#acknowledgement")).to_contain_text("Acknowledged — agreed at the kick-off")
    await expect(page.locator("#timeline li", has_text="Acknowledged")).to_contain_text("rep1")
