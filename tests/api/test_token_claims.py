"""A signed token with a malformed claim is a 401 problem, on its first use and every later one (never a 500)."""

import time

import jwt
import pytest

LATER = int(time.time()) + 3600
READ = "/v1/feed/schemas"  # any read an admin may make


def _token(settings, **claims: object) -> dict[str, str]:
    payload = {"sub": "ceo", "exp": LATER, "role": "admin", **claims}
    return {"Authorization": f"Bearer {jwt.encode(payload, settings.secret(), algorithm='HS256')}"}


async def _twice(client, headers) -> list:
    # The second call is answered from the token cache, the first one is not.
    return [await client.get(READ, headers=headers) for _ in range(2)]


async def test_a_token_whose_exp_is_a_numeric_string_is_refused_on_every_call(client, settings) -> None:
    for r in await _twice(client, _token(settings, exp=str(LATER))):
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "`exp`" in r.json()["detail"] and "str" in r.json()["detail"]


MALFORMED = {
    "exp past every float": {"exp": 10**400},
    "exp long ago": {"exp": -5},
    "exp true": {"exp": True},
    "exp null": {"exp": None},
    "sub a number": {"sub": 5},
    "sub a list": {"sub": ["ceo"]},
    "sub empty": {"sub": ""},
    "sub with NUL": {"sub": "ce\u0000o"},
    "sub a lone surrogate": {"sub": "\ud800"},
    "role a list": {"role": ["admin"]},
    "role unknown": {"role": "root"},
    "role a number": {"role": 1},
    "scope_node a number": {"scope_node": 7},
    "scope_node empty": {"scope_node": ""},
    "scope_node not a node id": {"scope_node": "no such/node"},
    "iat a numeric string": {"iat": str(int(time.time()))},
    "nbf a numeric string": {"nbf": "0"},
}


@pytest.mark.parametrize("claims", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_token_with_a_malformed_claim_is_a_401_problem_on_every_call(client, settings, claims) -> None:
    for r in await _twice(client, _token(settings, **claims)):
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("exp", [LATER + 0.5, 2**70], ids=["a fraction of a second", "past 64 bits"])
async def test_a_token_whose_exp_is_any_number_in_the_future_is_accepted_on_every_call(client, settings, exp) -> None:
    for r in await _twice(client, _token(settings, exp=exp)):
        assert r.status_code == 200, r.text


async def test_a_token_names_the_claim_it_was_refused_for(client, settings) -> None:
    r = await client.get(READ, headers=_token(settings, role=["admin"]))
    assert r.status_code == 401 and "`role`" in r.json()["detail"], r.text
