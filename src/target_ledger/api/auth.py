"""Bearer JWT (HS256 from our secret, or RS256/ES256 from the configured OpenID Connect issuer): the
token's subject is the actor of everything the request does."""

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, ServiceUnavailableException
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.types import ASGIApp

from target_ledger.api.errors import field_and_message
from target_ledger.api.issuer import Issuer, IssuerUnavailableError
from target_ledger.api.schemas import NodeId
from target_ledger.domain.access import ROLES, Principal

PUBLIC = ["^/health", "^/schema", "^/metrics", "^/console"]  # the console signs in with a session cookie
REFUSED = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


# Who a token speaks for, and who events recorded from the command line are by (`--actor`): the same rule.
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f]+$")]


def check_subject(subject: str) -> None:
    """ValueError saying why `subject` cannot be an actor: empty, over 256 characters, a control
    character, or not valid Unicode text."""
    try:
        msgspec.convert(subject, Subject)
        subject.encode("utf-8")
    except msgspec.ValidationError as e:
        raise ValueError(f"{subject[:40]!r}{'…' if len(subject) > 40 else ''} is not a valid name: {e}") from None
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text") from None


class Claims(msgspec.Struct, frozen=True):
    """The claims the ledger reads, typed once when a token is first verified. Times are
    seconds since the epoch (JSON numbers: a numeric string is a malformed claim)."""

    sub: Subject
    exp: float
    iat: float | None = None
    nbf: float | None = None
    role: str | None = None
    scope_node: NodeId | None = None

    def __post_init__(self) -> None:
        if self.role is not None and self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r} in `role`; known: {', '.join(ROLES)}")
        try:  # JSON may escape a lone surrogate, which no database (and no UTF-8) can hold
            self.sub.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("`sub` is not valid Unicode text") from None


def issue_token(
    secret: str,
    subject: str,
    role: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    scope_node: str | None = None,
) -> str:
    """`scope_node` limits what the token reads of the integration events to that node's subtree.
    Raises msgspec.ValidationError (a ValueError) naming the claim for a token the ledger would refuse."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": subject, "iat": now, "exp": now + ttl}
    if role:
        claims["role"] = role
    if scope_node:
        claims["scope_node"] = scope_node
    msgspec.convert({**claims, "iat": now.timestamp(), "exp": (now + ttl).timestamp()}, Claims)
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(token: str, secret: str) -> Claims:
    """Our own HS256 token's typed claims. Raises NotAuthorizedException (401) if its signature,
    its times or any claim the ledger reads is not right (the console's sign-in asks the same)."""
    try:
        # PyJWT checks the signature and the times, but lets numeric strings through as
        # times and leaves the other claims untyped: msgspec types them all, once.
        payload = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as e:
        raise NotAuthorizedException(f"the bearer token was refused: {e}", headers=REFUSED) from None
    return typed_claims(payload)


async def verify_issuer_token(
    issuer: Issuer, token: str, nonce: str | None = None, what: str = "the bearer token"
) -> Claims:
    """The OpenID Connect issuer's token's typed claims, subject and role from its configured claims
    (a bearer token, or the console's id_token with the nonce its sign-in sent). Raises
    NotAuthorizedException (401), or ServiceUnavailableException (503) if the issuer's keys cannot be had."""
    try:
        payload = issuer.ledger_claims(await issuer.verify(token, nonce))
    except IssuerUnavailableError as e:
        raise ServiceUnavailableException(str(e), headers={"Retry-After": str(Issuer.RETRY_AFTER)}) from None
    except jwt.PyJWTError as e:
        raise NotAuthorizedException(f"{what} was refused: {e}", headers=REFUSED) from None
    return typed_claims(payload, {"sub": issuer.subject_claim, "role": issuer.role_claim}, what)


def typed_claims(
    payload: dict[str, object], names: dict[str, str] | None = None, what: str = "the bearer token"
) -> Claims:
    """The claims typed, or NotAuthorizedException naming the claim as the token carries it (`names`:
    the issuer's name for each of ours)."""
    try:
        return msgspec.convert(payload, Claims)
    except msgspec.ValidationError as e:
        claim, message = field_and_message(str(e))
        for ours, theirs in (names or {}).items():
            message = message.replace(f"`{ours}`", f"`{theirs}`")
        where = f" in claim `{(names or {}).get(claim, claim)}`" if claim else ""
        raise NotAuthorizedException(f"{what} was refused{where}: {message}", headers=REFUSED) from None


class JWTAuthentication(AbstractAuthenticationMiddleware):
    # A client sends the same token with every request; verifying its signature again each
    # time was a tenth of a read's CPU. A token seen before is trusted until its expiry.
    KNOWN = 1024

    def __init__(self, app: ASGIApp, secret: str, issuer: Issuer | None = None) -> None:
        super().__init__(app, exclude=PUBLIC)
        self.secret = secret
        self.issuer = issuer
        self._known: dict[str, Claims] = {}

    async def _claims(self, token: str) -> Claims:
        """The token's typed claims: the issuer's when its `iss` says so (and one is configured), else ours."""
        claims = self._known.get(token)
        if claims is not None and claims.exp > time.time():
            return claims
        if self.issuer is not None and self.issuer.issued(token):
            claims = await verify_issuer_token(self.issuer, token)
        else:
            claims = verify_token(token, self.secret)
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
        claims = await self._claims(token)
        return AuthenticationResult(user=Principal(claims.sub, claims.role, claims.scope_node), auth=claims)
