"""The interactive docs work on a machine without internet: everything the page loads comes from
the ledger itself (Swagger UI from an installed package), and it opens with how to begin."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest


class References(HTMLParser):
    """Every src and href in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in {"src", "href"} and value]


@pytest.mark.parametrize("page", ["/schema", "/schema/docs"])
async def test_the_docs_page_loads_nothing_from_elsewhere(client, page) -> None:
    # Without a token: the docs are public.
    r = await client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parser = References()
    parser.feed(r.text)
    # The script, the styles, the preset and the icon, at least.
    assert len(parser.found) >= 4, parser.found
    for reference in parser.found:
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc, f"{page} loads {reference} from elsewhere"
        answer = await client.get(reference)
        assert answer.status_code == 200 and answer.content, f"{reference}: {answer.status_code}"


async def test_the_docs_open_with_a_token_the_workflow_and_the_error_format(client) -> None:
    page = (await client.get("/schema/docs")).text
    for words in ("target-ledger token", "set_target", "record_actual", "read_attainment", "ProblemDetails"):
        assert words in page, words
