"""My targets: a rep's targets this period, acknowledging or disputing them, recording an actual."""

from litestar import get
from litestar.di import NamedDependency

from target_ledger.console.web import Page
from target_ledger.domain.access import Principal


@get("/me", name="console:me", sync_to_thread=False)
def my_targets(principal: NamedDependency[Principal]) -> Page:
    return Page("me.html", {})


PAGES = [my_targets]
