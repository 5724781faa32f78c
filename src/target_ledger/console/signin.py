"""Signing in with a development token (`target-ledger token`), and signing out."""

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException
from litestar.params import QueryParameter
from litestar.response import Redirect

from target_ledger.api.auth import verify_token
from target_ledger.console.session import SIGN_IN, current_principal, end_session, start_session
from target_ledger.console.web import Page
from target_ledger.domain.access import Principal

HOME = "/console/"


def _next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site (an open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return HOME


@get("/sign-in", name="console:sign-in", sync_to_thread=False)
def sign_in_page(request: Request, next: Annotated[str | None, QueryParameter(max_length=500)] = None) -> Any:
    if current_principal(request) is not None:
        return Redirect(_next(next), status_code=303)
    return Page("sign_in.html", {"next": _next(next)})


@post("/sign-in", name="console:sign-in-token", status_code=303)
async def sign_in(request: Request, state: State) -> Any:
    form = await request.form()
    token = str(form.get("token") or "").strip()
    following = _next(str(form.get("next") or ""))
    if not token:
        return Page("sign_in.html", {"next": following, "errors": {"token": "paste a token"}}, status_code=422)
    try:
        claims = verify_token(token, state.settings.secret())  # exactly what the API asks of a bearer token
    except NotAuthorizedException as e:
        return Page("sign_in.html", {"next": following, "errors": {"token": e.detail}}, status_code=422)
    start_session(request, Principal(claims.sub, claims.role, claims.scope_node), claims.exp)
    return Redirect(following, status_code=303)


@post("/sign-out", name="console:sign-out", status_code=303, sync_to_thread=False)
def sign_out(request: Request) -> Redirect:
    end_session(request)
    return Redirect(SIGN_IN, status_code=303)
