"""Every answer under /console is a console page with the console's security headers, whoever answered it."""

from tests.api.support import build_east
from tests.api.test_console_page_forms import _signed_in_page

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _is_console_page(answer, status: int) -> None:
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html"), answer.headers["content-type"]
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_a_console_path_no_route_takes_is_the_consoles_404_page_in_the_readers_language(client) -> None:
    # The router's catch-all never saw these: litestar answered them with the API's JSON problem.
    for path in ("/console/targets/zzz", "/console/targets/zzz/explain"):
        answer = await client.get(path, headers=ZH)
        _is_console_page(answer, 404)
        assert "未找到" in answer.text and 'lang="zh-CN"' in answer.text


async def test_a_nul_in_a_console_query_is_the_consoles_400_page(client) -> None:
    answer = await client.get("/console/dashboard?period=%00", headers=ZH)
    _is_console_page(answer, 400)
    assert "无法处理此请求" in answer.text and "NUL" in answer.text  # the rule as the API states it


async def test_refusals_and_errors_carry_the_security_headers(client, auth, settings) -> None:
    await build_east(client, auth)
    await _signed_in_page(client, settings, "rep1", "/console/me")
    no_csrf = await client.post("/console/me/actuals", data={"value": "1"})  # the CSRF 403 (before any handler)
    _is_console_page(no_csrf, 403)
    other = await client.get("/console/dashboard", params={"node": "acme"})  # a node out of reach
    _is_console_page(other, 403)
    missing = await client.get(f"/console/targets/{'0' * 32}")
    _is_console_page(missing, 404)


async def test_the_error_page_route_shows_nothing_it_was_not_handed(client) -> None:
    # Reached directly, it is not a way to show made-up text on the ledger's pages.
    answer = await client.get("/console/problem", params={"status": "500", "detail": "call 555"})
    _is_console_page(answer, 404)
    assert "call 555" not in answer.text
