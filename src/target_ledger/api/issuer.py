"""The OpenID Connect issuer the ledger trusts: its discovery document and keys, and its tokens' verification."""

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

from target_ledger.config import Settings

log = logging.getLogger(__name__)


class IssuerUnavailableError(Exception):
    """The issuer did not answer and no key of it is kept: nobody can tell a good token from a bad one."""


class Issuer:
    """One verifier for the API's bearer tokens and the console's id_tokens. Its discovery document
    and JWKS are fetched with httpx, kept for TTL seconds, and fetched again when a token names a
    key (`kid`) not among them: the issuer rotated its keys."""

    ALGORITHMS = ["RS256", "ES256"]  # asymmetric only: an HS256 token "signed" with a public key is refused
    TTL = 600.0  # seconds the keys are kept before the next token fetches them again
    # An unknown `kid` fetches again at most this often: tokens with made-up kids must not make
    # every request a fetch from the issuer.
    REFETCH_AFTER = 30.0
    TIMEOUT = 5.0  # seconds the issuer has to answer each fetch
    RETRY_AFTER = 10  # seconds after a failed fetch (with no key kept) before the next one; the 503's Retry-After
    LEEWAY = 30  # seconds of clock difference with the issuer forgiven on `exp`, `nbf` and `iat`

    def __init__(self, issuer: str, audience: str, subject_claim: str = "sub", role_claim: str = "role") -> None:
        self.issuer = issuer
        self.audience = audience
        self.subject_claim = subject_claim
        self.role_claim = role_claim
        self.discovery: dict[str, Any] = {}
        self._keys: dict[str | None, jwt.PyJWK] | None = None
        self._fetched = -float("inf")
        self._failed = (-float("inf"), "")  # when the last fetch failed with no key kept, and why
        self._lock = asyncio.Lock()

    @classmethod
    def configured(cls, settings: Settings) -> "Issuer | None":
        """The issuer the settings name, if any."""
        if not settings.oidc_issuer or not settings.token_audience:
            return None
        return cls(settings.oidc_issuer, settings.token_audience, settings.oidc_subject_claim, settings.oidc_role_claim)

    def issued(self, token: str) -> bool:
        """Whether the token says it is from this issuer (unverified: the caller verifies it here)."""
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == self.issuer
        except jwt.PyJWTError:
            return False

    async def verify(self, token: str, nonce: str | None = None) -> dict[str, Any]:
        """The token's claims, once its signature (by one of the issuer's keys), `iss`, `aud`, times and,
        when given, `nonce` are right. Raises jwt.PyJWTError, or IssuerUnavailableError."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in self.ALGORITHMS:
            raise jwt.InvalidAlgorithmError(f"alg {header.get('alg')!r} is not one of {', '.join(self.ALGORITHMS)}")
        key = await self._key(header.get("kid"))
        claims = jwt.decode(
            token,
            key,
            algorithms=self.ALGORITHMS,
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.LEEWAY,
            options={"require": ["iss", "aud", "exp"]},
        )
        if nonce is not None and claims.get("nonce") != nonce:
            raise jwt.InvalidTokenError("the token's nonce is not the one this sign-in sent")
        return claims

    def ledger_claims(self, claims: dict[str, Any]) -> dict[str, Any]:
        """The issuer's claims under the names the ledger reads (api/auth.py's Claims)."""
        named = {"sub": self.subject_claim, "role": self.role_claim, "exp": "exp", "iat": "iat", "nbf": "nbf"}
        return {ours: claims[theirs] for ours, theirs in named.items() if theirs in claims}

    async def endpoint(self, name: str) -> str:
        """An endpoint from the discovery document (authorization_endpoint, token_endpoint)."""
        if not self.discovery:
            await self._refresh()
        value = self.discovery.get(name)
        if not isinstance(value, str):
            raise IssuerUnavailableError(f"the issuer's discovery document has no {name}")
        return value

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        stale = time.monotonic() - self._fetched
        if self._keys is None or stale > self.TTL or (kid not in self._keys and stale >= self.REFETCH_AFTER):
            await self._refresh()
        assert self._keys is not None  # _refresh kept keys or raised
        if kid not in self._keys:
            raise jwt.InvalidKeyError(f"the issuer has no key {kid!r}")
        return self._keys[kid]

    async def _refresh(self) -> None:
        asked = time.monotonic()
        async with self._lock:
            if self._fetched >= asked:  # another request fetched them while this one waited
                return
            # Nothing kept and the issuer just failed: the same answer at once, not one more
            # fetch (and TIMEOUT seconds) for every request queued behind the lock.
            if self._keys is None and asked - self._failed[0] < self.RETRY_AFTER:
                raise IssuerUnavailableError(self._failed[1])
            try:
                self.discovery, self._keys = await self._fetch()
            except (httpx.HTTPError, ValueError, KeyError, TypeError, jwt.PyJWKError) as e:
                why = f"the token issuer {self.issuer} is not reachable: {str(e) or type(e).__name__}"
                if self._keys is None:
                    self._failed = (time.monotonic(), why)
                    raise IssuerUnavailableError(why) from None
                log.warning("%s; its keys as last fetched are kept", why)
            self._fetched = time.monotonic()

    async def _fetch(self) -> tuple[dict[str, Any], dict[str | None, jwt.PyJWK]]:
        async with httpx.AsyncClient(timeout=self.TIMEOUT) as http:
            answer = await http.get(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
            discovery = answer.raise_for_status().json()
            if discovery.get("issuer") != self.issuer:  # OpenID Connect Discovery §4.3
                raise ValueError(f"the discovery document names issuer {discovery.get('issuer')!r}")
            keys = (await http.get(discovery["jwks_uri"])).raise_for_status().json()
        return discovery, {key.key_id: key for key in jwt.PyJWKSet.from_dict(keys).keys}
