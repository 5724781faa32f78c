"""A small OpenID Connect identity provider for the tests: keys made here, its discovery document and JWKS."""

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import Litestar, get
from litestar.exceptions import NotFoundException

from tests.api.live import free_port

CLIENT_ID = "target-ledger"


class IdentityProvider:
    """Keys by `kid`; `url` once served. `jwks_fetches` counts the JWKS answers; `down` makes it answer 404."""

    def __init__(self) -> None:
        self.url = ""
        self.keys: dict[str, tuple[str, Any]] = {}
        self.jwks_fetches = 0
        self.down = False

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
            if self.down:
                raise NotFoundException()
            return {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/jwks",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }

        @get("/jwks", sync_to_thread=False)
        def jwks() -> dict[str, Any]:
            if self.down:
                raise NotFoundException()
            self.jwks_fetches += 1
            return self.jwks()

        return Litestar([discovery, jwks])


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
