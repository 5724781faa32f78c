"""The console's session: litestar's encrypted cookie, holding who signed in and until when."""

import time
from dataclasses import replace
from hmac import compare_digest
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from target_ledger.domain.access import Principal

COOKIE = "console_session"
CSRF_COOKIE = "console_csrf"
SIGN_IN = "/console/sign-in"
SAFE = {"GET", "HEAD", "OPTIONS"}
FLOW = "oidc"  # the session's sign-in in progress: its state, nonce, PKCE verifier and where to go after
# A console session ends after this many hours, whatever the token's own expiry (a token of exp=1e20
# would otherwise sign a browser in for ever); signing out clears the cookie, and a copy of it taken
# before then still works until this cap: the session is kept in the cookie, not on the server.
SESSION_HOURS = 12


def is_secure(scope: Scope | ASGIConnection) -> bool:
    """The rule for every console cookie: Secure when the request came over HTTPS (a development
    server on plain HTTP must still keep its cookies)."""
    return (scope.scope if isinstance(scope, ASGIConnection) else scope).get("scheme") in ("https", "wss")


def derived_key(secret: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose (the session's cipher, CSRF tokens), from the JWT secret:
    every process sharing the secret reads the others' cookies, and no two purposes share a key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"target-ledger console " + purpose).derive(
        secret.encode()
    )


class SessionCookies:
    """litestar's cookie-backed sessions (AES-GCM), HttpOnly and SameSite=Lax; Secure when the
    request came over HTTPS, so that a development server on plain HTTP still keeps its session."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        key = derived_key(secret, b"session")

        def middleware(secure: bool) -> SessionMiddleware:
            config = CookieBackendConfig(
                secret=key, key=COOKIE, httponly=True, samesite="lax", secure=secure, path="/console"
            )
            return SessionMiddleware(app, ClientSideSessionBackend(config))

        self.plain, self.secure = middleware(False), middleware(True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.secure if is_secure(scope) else self.plain
        await chosen(scope, receive, send)


class SecureCsrf:
    """litestar's CSRF check, its cookie Secure by the same rule as the session's (is_secure)."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        self.plain = CSRFMiddleware(app, config)
        self.secure = CSRFMiddleware(app, replace(config, cookie_secure=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.secure if is_secure(scope) else self.plain)(scope, receive, send)


def start_session(request: Request, principal: Principal, expires_at: float) -> None:
    """Sign `principal` in until `expires_at` (the token's expiry) or SESSION_HOURS from now, whichever
    comes first; the session holds the browser's CSRF token, so that only that token's forms count."""
    ends = min(expires_at, time.time() + SESSION_HOURS * 3600)
    issued = ScopeState.from_scope(request.scope).csrf_token  # a GET's new token, set as the cookie with this answer
    csrf = request.cookies.get(CSRF_COOKIE) or (issued if isinstance(issued, str) else None)
    request.set_session(
        {
            "sub": principal.subject,
            "role": principal.role,
            "scope_node": principal.scope_node,
            "exp": ends,
            "csrf": csrf,
        }
    )


def set_flow(request: Request, flow: dict[str, Any] | None) -> Any:
    """Keep (or with None, drop) an OpenID Connect sign-in in progress beside whoever is signed in, and
    return the one there was: starting or ending a sign-in never signs the browser out."""
    session = request.scope.get("session")
    kept = dict(session) if isinstance(session, dict) else {}
    before = kept.pop(FLOW, None)
    if flow is not None:
        kept[FLOW] = flow
    if kept:
        request.set_session(kept)
    else:
        request.clear_session()
    return before


def end_session(request: Request) -> None:
    request.clear_session()


def current_principal(request: ASGIConnection) -> Principal | None:
    """Who is signed in, or None (never signed in, signed out, or the session expired)."""
    session = request.scope.get("session")  # litestar's Empty (not a dict) once a session was cleared
    if not isinstance(session, dict):
        return None
    if not isinstance(session.get("exp"), int | float) or session["exp"] <= time.time():
        return None
    if session["exp"] > time.time() + SESSION_HOURS * 3600:  # a session from before the cap: past it now
        return None
    return Principal(session["sub"], session.get("role"), session.get("scope_node"))


class SignedOut(NotAuthorizedException):
    """A page that needs someone signed in: the console answers it with a redirect to the sign-in page."""


def provide_principal(request: Request) -> Principal:
    """The `principal` dependency of every page: the signed-in person, or a redirect to sign in."""
    principal = current_principal(request)
    if principal is None:
        raise SignedOut("sign in to see this page")
    # litestar's CSRF check is double-submit: the form's token matches the cookie. Bound to the session
    # too, a cookie and form pair planted in the browser does not carry the signed-in person's forms.
    bound = request.scope.get("session")
    if request.method not in SAFE and not compare_digest(
        str((bound if isinstance(bound, dict) else {}).get("csrf") or ""), request.cookies.get(CSRF_COOKIE) or "-"
    ):
        raise PermissionDeniedException("CSRF token verification failed: the form's token is not this session's")
    return principal
