"""A small OpenID Connect identity provider for the tests: keys made here, its discovery document and JWKS,
and an authorization code flow with PKCE that signs in `user` without asking."""

import base64
import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect

from tests.api.live import free_port

CLIENT_ID = "target-ledger"
CLIENT_SECRET = "the-ledger-client-secret"


class IdentityProvider:
    """Keys by `kid`; `url` once served. `jwks_fetches` and `discovery_fetches` count the answers; `down`
    makes both answer 404. `user`: the claims of whoever its authorization endpoint signs in; `codes`: the
    codes it gave, not yet used."""

    def __init__(self) -> None:
        self.url = ""
        self.keys: dict[str, tuple[str, Any]] = {}
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        self.down = False
        self.user: dict[str, Any] = {"sub": "ann"}
        self.codes: dict[str, dict[str, str]] = {}

    def add_key(self, alg: str = "RS256") -> str:
        """A new signing key (RS256 or ES256) published in the JWKS; its kid."""
        kid = f"key-{len(self.keys) + 1}"
        private = rsa.generate_private_key(65537, 2048) if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
        self.keys[kid] = (alg, private)
        return kid

    def token(self, kid: str | None = None, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token signed with the key `kid` (the first key by default); claims default to a good one."""
        kid = kid or next(iter(self.keys))
        alg, private = self.keys[kid]
        now = int(time.time())
        body = {"iss": self.url, "aud": CLIENT_ID, "sub": "ann", "iat": now, "exp": now + 300} | claims
        body = {k: v for k, v in body.items() if v is not None}  # None: leave the claim out
        return jwt.encode(body, private, alg, {"kid": kid, **(headers or {})})

    def public_pem(self, kid: str) -> bytes:
        public = self.keys[kid][1].public_key()
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, (alg, private) in self.keys.items():
            algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
            keys.append(algorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": kid, "alg": alg, "use": "sig"})
        return {"keys": keys}

    def app(self) -> Litestar:
        @get("/.well-known/openid-configuration", sync_to_thread=False)
        def discovery() -> dict[str, Any]:
            self.discovery_fetches += 1
            if self.down:
                raise NotFoundException()
            return {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/jwks",
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }

        @get("/jwks", sync_to_thread=False)
        def jwks() -> dict[str, Any]:
            if self.down:
                raise NotFoundException()
            self.jwks_fetches += 1
            return self.jwks()

        @get("/authorize", sync_to_thread=False)
        def authorize(request: Request) -> Any:
            asked = request.query_params
            if (asked.get("client_id"), asked.get("response_type"), asked.get("code_challenge_method")) != (
                CLIENT_ID,
                "code",
                "S256",
            ) or "openid" not in asked.get("scope", "").split():
                return Response({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {k: asked.get(k, "") for k in ("redirect_uri", "nonce", "code_challenge")}
            return Redirect(f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked.get('state', '')})}")

        @post("/token", status_code=200)
        async def token(request: Request) -> Response:
            form = await request.form()
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {basic}":
                return Response({"error": "invalid_client"}, status_code=401)
            given = self.codes.pop(str(form.get("code")), None)  # a code is good once
            verifier = str(form.get("code_verifier", "")).encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if not given or (form.get("redirect_uri"), challenge) != (given["redirect_uri"], given["code_challenge"]):
                return Response({"error": "invalid_grant"}, status_code=400)
            id_token = self.token(**({"nonce": given["nonce"]} | self.user))  # a `nonce` in user: a wrong one
            return Response({"access_token": id_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token})

        return Litestar([discovery, jwks, authorize, token])


@contextlib.contextmanager
def serving_in_thread(provider: IdentityProvider) -> Iterator[IdentityProvider]:
    """The provider on a free port in a thread of its own: litestar's test client runs the ledger's
    app on a loop of its own and waits for it, so a server on the test's loop would never answer."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the identity provider did not start"
        time.sleep(0.02)
    provider.url = f"http://127.0.0.1:{port}"
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(10)
