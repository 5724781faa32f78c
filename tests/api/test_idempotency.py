"""A retried mutation with the same Idempotency-Key gets the first answer, and stores nothing twice."""

from tests.api.support import ADMIN

UNIT = {"node": "acme", "kind": "company", "name": "Acme"}


async def test_a_retried_create_gets_the_first_answer_not_a_conflict(client, auth, pool) -> None:
    keyed = {**auth(*ADMIN), "Idempotency-Key": "create-acme-1"}
    first = await client.post("/v1/org/units", json=UNIT, headers=keyed)
    assert first.status_code == 201, first.text
    # The retry (a lost answer, a timeout) gets the same answer, marked as replayed...
    again = await client.post("/v1/org/units", json=UNIT, headers=keyed)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    # ...while the same request without the key is the conflict it really is.
    assert (await client.post("/v1/org/units", json=UNIT, headers=auth(*ADMIN))).status_code == 409
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'OrgUnitCreated'") == 1
    # The same key for another request is refused, naming the header.
    other = await client.post("/v1/org/units", json={**UNIT, "name": "Other"}, headers=keyed)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    # Keys are the caller's own: another caller's same key is a new request.
    theirs = await client.post(
        "/v1/org/units", json=UNIT, headers={**auth("ops", "admin"), "Idempotency-Key": "create-acme-1"}
    )
    assert theirs.status_code == 409


async def test_an_answer_that_failed_with_a_4xx_is_kept_too(client, auth) -> None:
    keyed = {**auth(*ADMIN), "Idempotency-Key": "bad-unit"}
    bad = {"node": "x", "kind": "planet", "name": "X"}
    first = await client.post("/v1/org/units", json=bad, headers=keyed)
    assert first.status_code in (400, 422)
    again = await client.post("/v1/org/units", json=bad, headers=keyed)
    assert (again.status_code, again.text) == (first.status_code, first.text)


async def test_a_replay_carries_the_etag_of_the_first_answer(client, auth) -> None:
    await client.post("/v1/org/units", json=UNIT, headers=auth(*ADMIN))
    target = {"node": "acme", "metric": "revenue", "period": "2026", "value": "100"}
    keyed = {**auth(*ADMIN), "Idempotency-Key": "set-acme-2026"}
    first = await client.post("/v1/targets", json=target, headers=keyed)
    assert first.status_code == 201 and first.headers["etag"] == '"1"', first.text
    # The retry gets the version the first answer named, as the document promises.
    again = await client.post("/v1/targets", json=target, headers=keyed)
    assert again.headers["idempotent-replayed"] == "true" and again.headers["etag"] == '"1"'


async def test_a_conflict_is_not_kept_under_the_key(client, auth) -> None:
    assert (await client.post("/v1/org/units", json=UNIT, headers=auth(*ADMIN))).status_code == 201
    keyed = {**auth(*ADMIN), "Idempotency-Key": "create-acme-2"}
    # A 409 tells the state of the moment: it is not kept...
    first = await client.post("/v1/org/units", json=UNIT, headers=keyed)
    assert first.status_code == 409
    # ...so the retry is decided again (a conflict still), not replayed.
    again = await client.post("/v1/org/units", json=UNIT, headers=keyed)
    assert again.status_code == 409 and "idempotent-replayed" not in again.headers
