"""Bearer JWT (HS256): the token's `sub` is the actor of everything the request does."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.types import ASGIApp

from target_ledger.domain.access import ROLES, Principal

PUBLIC = ["^/health", "^/schema", "^/metrics"]


def issue_token(
    secret: str,
    subject: str,
    role: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    scope_node: str | None = None,
) -> str:
    """`scope_node` limits what the token reads of the integration events to that node's subtree."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": subject, "iat": now, "exp": now + ttl}
    if role:
        claims["role"] = role
    if scope_node:
        claims["scope_node"] = scope_node
    return jwt.encode(claims, secret, algorithm="HS256")


class JWTAuthentication(AbstractAuthenticationMiddleware):
    # A client sends the same token with every request; verifying its signature again each
    # time was a tenth of a read's CPU. A token seen before is trusted until its expiry.
    KNOWN = 1024

    def __init__(self, app: ASGIApp, secret: str) -> None:
        super().__init__(app, exclude=PUBLIC)
        self.secret = secret
        self._known: dict[str, dict[str, Any]] = {}

    def _claims(self, token: str) -> dict[str, Any]:
        claims = self._known.get(token)
        if claims is not None and claims["exp"] > time.time():
            return claims
        claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
        if len(self._known) >= self.KNOWN:
            self._known.clear()
        self._known[token] = claims
        return claims

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException(
                "a bearer token is required (Authorization: Bearer <jwt>); `target-ledger token <subject>` prints one",
                headers={"WWW-Authenticate": 'Bearer realm="target-ledger"'},
            )
        try:
            claims = self._claims(token)
        except jwt.PyJWTError as e:
            raise NotAuthorizedException(
                f"the bearer token was refused: {e}",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        role = claims.get("role")
        if role is not None and role not in ROLES:
            raise NotAuthorizedException(f"unknown role {role!r} in token; known: {', '.join(ROLES)}")
        node = claims.get("scope_node")
        return AuthenticationResult(user=Principal(str(claims["sub"]), role, str(node) if node else None), auth=claims)
