"""The API takes the configured OpenID Connect issuer's RS256/ES256 tokens, verified against its JWKS (issue 17 §1)."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import jwt
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from target_ledger.api.issuer import Issuer
from target_ledger.app import create_app
from target_ledger.config import Settings
from tests.api.identity_provider import CLIENT_ID, IdentityProvider
from tests.api.live import free_port


def configured(settings, issuer: str, **more):
    return msgspec.structs.replace(settings, oidc_issuer=issuer, oidc_client_id=CLIENT_ID, **more)


@pytest.fixture
async def client(settings, clock, idp) -> AsyncIterator[AsyncTestClient]:
    app = create_app(configured(settings, idp.url, oidc_subject_claim="email", oidc_role_claim="ledger_role"))
    async with AsyncTestClient(app) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def person(**claims) -> dict:
    return {"email": "ann@acme.example", "ledger_role": "auditor"} | claims


async def test_the_issuers_rs256_and_es256_tokens_are_accepted_with_subject_and_role_mapped(client, idp, auth):
    es = idp.add_key("ES256")  # the issuer publishes an RSA and an EC key
    # An RS256 token whose `ledger_role` claim says admin creates the company, as its `email`.
    r = await client.post(
        "/v1/org/units",
        json={"node": "acme", "kind": "company", "name": "Acme"},
        headers=bearer(idp.token(**person(ledger_role="admin"))),
    )
    assert r.status_code == 201, r.text
    # An ES256 token of the same issuer reads the log as an auditor: the event's actor is the email.
    r = await client.get("/v1/events", headers=bearer(idp.token(kid=es, **person())))
    assert r.status_code == 200, r.text
    assert {e["metadata"]["actor"] for e in r.json()["items"]} == {"ann@acme.example"}
    # The role is the token's: without `ledger_role`, reading the log is forbidden, not unauthenticated.
    r = await client.get("/v1/events", headers=bearer(idp.token(**person(ledger_role=None))))
    assert r.status_code == 403, r.text
    # Our own HS256 tokens keep working beside the issuer's.
    assert (await client.get("/v1/events", headers=auth("eve", "auditor"))).status_code == 200


def hs256_signed_with(secret: bytes, claims: dict) -> str:
    """An HS256 token whose HMAC key is `secret`: PyJWT refuses to make one with a public key, an attacker would not."""

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-1"}).encode())
    body = part(json.dumps(claims).encode())
    return f"{head}.{body}.{part(hmac.new(secret, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


async def test_tokens_the_issuer_did_not_rightly_sign_are_refused(client, idp):
    # A stranger with a key of the same kid, claiming to be our issuer.
    stranger = IdentityProvider()
    stranger.url = idp.url
    stranger.add_key("RS256")
    now = int(time.time())
    good = {"iss": idp.url, "aud": CLIENT_ID, "exp": now + 300, **person()}
    refused = {
        "another key": stranger.token(**person()),
        "another audience": idp.token(aud="someone-else", **person()),
        "expired": idp.token(exp=now - 3600, iat=now - 7200, **person()),
        "alg none": jwt.encode(good, None, algorithm="none"),
        "HS256 keyed with the public key": hs256_signed_with(idp.public_pem("key-1"), good),
        "a role the ledger does not have": idp.token(**person(ledger_role="root")),
        "no subject claim": idp.token(**person(email=None)),
    }
    for why, token in refused.items():
        r = await client.get("/v1/events", headers=bearer(token))
        # Then each is a 401 naming the invalid token, never a 500 or an answer.
        assert r.status_code == 401, (why, r.text)
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"', why
    # The claim named is the configured one, not the ledger's name for it.
    r = await client.get("/v1/events", headers=bearer(refused["a role the ledger does not have"]))
    assert "ledger_role" in r.json()["detail"]


async def test_an_unreachable_issuer_with_no_key_kept_answers_503_with_retry_after(settings, clock, auth):
    # An issuer on a port nobody listens on.
    nobody = IdentityProvider()
    nobody.url = f"http://127.0.0.1:{free_port()}"
    nobody.add_key("RS256")
    async with AsyncTestClient(create_app(configured(settings, nobody.url), clock=clock)) as client:
        r = await client.get("/v1/events", headers=bearer(nobody.token(role="auditor")))
        # Then the caller is told to come back, not that its token is bad.
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["retry-after"]) > 0 and nobody.url in r.json()["detail"]
        # Our own tokens do not need the issuer.
        assert (await client.get("/v1/events", headers=auth("eve", "auditor"))).status_code == 200


async def test_a_rotated_key_is_picked_up_and_unknown_kids_do_not_fetch_every_time(client, idp, monkeypatch):
    monkeypatch.setattr(Issuer, "REFETCH_AFTER", 2.0)
    # The first token fetches the keys once; a second token with the same key does not fetch again.
    for _ in range(2):
        assert (await client.get("/v1/events", headers=bearer(idp.token(**person())))).status_code == 200
    assert idp.jwks_fetches == 1
    # The issuer rotates to a new key: a token signed with it fetches the keys again, once.
    await asyncio.sleep(2.1)
    rotated = idp.add_key("RS256")
    assert (await client.get("/v1/events", headers=bearer(idp.token(kid=rotated, **person())))).status_code == 200
    assert idp.jwks_fetches == 2
    # Tokens naming kids the issuer never had are refused without a fetch each.
    for n in range(5):
        made_up = idp.token(headers={"kid": f"made-up-{n}"}, **person())
        assert (await client.get("/v1/events", headers=bearer(made_up))).status_code == 401
    assert idp.jwks_fetches == 2
    # When the issuer is down later, the keys already fetched keep verifying its tokens.
    idp.down = True
    monkeypatch.setattr(Issuer, "TTL", 0.0)
    assert (await client.get("/v1/events", headers=bearer(idp.token(kid=rotated, **person())))).status_code == 200


async def test_an_issuer_that_fails_is_asked_again_only_after_retry_after(settings, clock, idp, monkeypatch):
    monkeypatch.setattr(Issuer, "RETRY_AFTER", 1.0)
    idp.down = True  # its discovery document answers 404
    async with AsyncTestClient(create_app(configured(settings, idp.url), clock=clock)) as client:
        token = idp.token(role="auditor")
        # The first request asks the issuer and gets a 503; the next ones within Retry-After do not ask it.
        for _ in range(3):
            assert (await client.get("/v1/events", headers=bearer(token))).status_code == 503
        assert idp.discovery_fetches == 1
        # The issuer is back: after Retry-After, the next request fetches its keys and is answered.
        idp.down = False
        await asyncio.sleep(1.1)
        assert (await client.get("/v1/events", headers=bearer(token))).status_code == 200
        assert idp.discovery_fetches == 2


def test_an_issuer_needs_a_client_id_or_an_audience(monkeypatch):
    # Without either, no token of the issuer could be checked for its `aud`: refused at start.
    with pytest.raises(ValueError, match="TL_OIDC_CLIENT_ID"):
        Settings(oidc_issuer="https://id.example")
    for name, value in {"ISSUER": "https://id.example", "CLIENT_ID": "ledger", "ROLE_CLAIM": "groups"}.items():
        monkeypatch.setenv(f"TL_OIDC_{name}", value)
    read = Settings.from_env()
    assert (read.oidc_issuer, read.token_audience, read.oidc_role_claim) == ("https://id.example", "ledger", "groups")
