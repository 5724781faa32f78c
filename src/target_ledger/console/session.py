"""The console's session: litestar's encrypted cookie, holding who signed in and until when."""

import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from target_ledger.domain.access import Principal

COOKIE = "console_session"
SIGN_IN = "/console/sign-in"


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
        chosen = self.secure if scope.get("scheme") in ("https", "wss") else self.plain
        await chosen(scope, receive, send)


def start_session(request: Request, principal: Principal, expires_at: float) -> None:
    """Sign `principal` in until `expires_at` (seconds since the epoch: the token's expiry)."""
    request.set_session(
        {"sub": principal.subject, "role": principal.role, "scope_node": principal.scope_node, "exp": expires_at}
    )


def end_session(request: Request) -> None:
    request.clear_session()


def current_principal(request: ASGIConnection) -> Principal | None:
    """Who is signed in, or None (never signed in, signed out, or the session expired)."""
    session = request.scope.get("session")  # litestar's Empty (not a dict) once a session was cleared
    if not isinstance(session, dict):
        return None
    if not isinstance(session.get("exp"), int | float) or session["exp"] <= time.time():
        return None
    return Principal(session["sub"], session.get("role"), session.get("scope_node"))


class SignedOut(NotAuthorizedException):
    """A page that needs someone signed in: the console answers it with a redirect to the sign-in page."""


def provide_principal(request: Request) -> Principal:
    """The `principal` dependency of every page: the signed-in person, or a redirect to sign in."""
    principal = current_principal(request)
    if principal is None:
        raise SignedOut("sign in to see this page")
    return principal
