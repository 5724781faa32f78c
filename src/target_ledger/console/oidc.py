"""Console sign-in with the configured OpenID Connect issuer: authorization code with PKCE (S256), state and nonce."""

from typing import Annotated, Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.errors import MismatchingStateException, MissingCodeException
from authlib.oauth2.rfc6749.parameters import (
    parse_authorization_code_response,
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, NotFoundException, ServiceUnavailableException
from litestar.params import QueryParameter
from litestar.response import Redirect

from target_ledger.api.auth import verify_issuer_token
from target_ledger.api.issuer import Issuer, IssuerUnavailableError
from target_ledger.config import Settings
from target_ledger.console import i18n
from target_ledger.console.session import set_flow, start_session
from target_ledger.console.signin import _next as following  # a console page, never another site
from target_ledger.console.web import Page
from target_ledger.domain.access import Principal


def N_(message: str) -> str:
    """Marks a message for the catalogues (pybabel extract); _refused translates it for the reader."""
    return message


def _issuer(state: State) -> Issuer:
    if state.issuer is None:
        raise NotFoundException("no OpenID Connect issuer is configured (TL_OIDC_ISSUER)")
    return state.issuer  # type: ignore[no-any-return]


def _callback(request: Request) -> str:
    return str(request.url_for("console:oidc-callback"))


def _refused(request: Request, status: int, message: str, **values: str) -> Page:
    """The sign-in page again, saying in the reader's language why this sign-in did not happen."""
    text = i18n.translations(i18n.language(request)).gettext(message) % values
    return Page("sign_in.html", {"next": following(None), "errors": {"oidc": text}}, status_code=status)


@get("/oidc/sign-in", name="console:oidc-sign-in")
async def oidc_sign_in(
    request: Request, state: State, next: Annotated[str | None, QueryParameter(max_length=500)] = None
) -> Any:
    """To the issuer's authorization endpoint; what the callback must see again is kept in the session
    cookie (encrypted, so the browser can neither read the verifier nor change the state)."""
    issuer = _issuer(state)
    flow = {"state": generate_token(32), "nonce": generate_token(32), "verifier": generate_token(64)}
    try:
        endpoint = await issuer.endpoint("authorization_endpoint")
    except IssuerUnavailableError as e:
        return _refused(request, 503, N_("The identity provider is not reachable: %(reason)s"), reason=str(e))
    url = prepare_grant_uri(
        endpoint,
        client_id=state.settings.oidc_client_id,
        response_type="code",
        redirect_uri=_callback(request),
        scope="openid",
        state=flow["state"],
        nonce=flow["nonce"],
        code_challenge=create_s256_code_challenge(flow["verifier"]),
        code_challenge_method="S256",
    )
    set_flow(request, {**flow, "next": following(next)})  # whoever is signed in stays so until the callback
    return Redirect(url, status_code=303)


@get("/oidc/callback", name="console:oidc-callback")
async def oidc_callback(request: Request, state: State) -> Any:
    """The issuer sends the browser back with a code: exchanged for an id_token, verified as the API
    verifies the issuer's bearer tokens, its nonce checked; then the session starts."""
    issuer = _issuer(state)
    flow = set_flow(request, None)  # one try per sign-in: its state and code are never taken twice
    if not isinstance(flow, dict):
        return _refused(request, 400, N_("This sign-in was not started here, or has already ended: start again."))
    if "error" in request.query_params:
        reason = request.query_params["error"][:200]
        return _refused(request, 401, N_("The identity provider refused the sign-in: %(reason)s"), reason=reason)
    try:
        code = parse_authorization_code_response(str(request.url), state=flow["state"])["code"]
    except (MismatchingStateException, MissingCodeException):
        return _refused(request, 400, N_("This sign-in's state does not match the one sent: start again."))
    try:
        id_token = await _id_token(issuer, state.settings, code, flow["verifier"], _callback(request))
        claims = await verify_issuer_token(issuer, id_token, nonce=flow["nonce"], what="the id_token")
    except NotAuthorizedException as e:
        return _refused(request, 401, N_("The identity provider's answer was refused: %(reason)s"), reason=e.detail)
    except (IssuerUnavailableError, ServiceUnavailableException, httpx.HTTPError) as e:
        reason = str(e) or type(e).__name__
        return _refused(request, 503, N_("The identity provider is not reachable: %(reason)s"), reason=reason)
    start_session(request, Principal(claims.sub, claims.role, claims.scope_node), claims.exp)
    return Redirect(flow["next"], status_code=303)


async def _id_token(issuer: Issuer, settings: Settings, code: str, verifier: str, redirect_uri: str) -> str:
    """The code exchanged at the token endpoint (the client authenticated with HTTP Basic, the PKCE verifier sent)."""
    body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=verifier)
    async with httpx.AsyncClient(timeout=Issuer.TIMEOUT) as http:
        answer = await http.post(
            await issuer.endpoint("token_endpoint"),
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            auth=(settings.oidc_client_id or "", settings.oidc_client_secret or ""),
        )
    try:
        given = answer.json()
    except ValueError:
        given = {}
    if not answer.is_success or not isinstance(given, dict) or not isinstance(given.get("id_token"), str):
        error = given.get("error") if isinstance(given, dict) else None
        raise NotAuthorizedException(f"the token endpoint answered {answer.status_code} {error or ''}".strip())
    return given["id_token"]


PAGES = [oidc_sign_in, oidc_callback]
