"""Webhook signatures agree with the Standard Webhooks specification's published test vector."""

from target_ledger.integration.signing import sign, verify

# The specification's example: any Standard Webhooks library must produce this signature.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID, TIMESTAMP, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'


def test_the_signature_matches_the_specifications_test_vector() -> None:
    headers = sign(SECRET, MSG_ID, BODY, TIMESTAMP)
    assert headers == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify(SECRET, headers, BODY, now=TIMESTAMP + 10)


def test_a_changed_body_an_old_message_or_another_secret_is_refused() -> None:
    headers = sign(SECRET, MSG_ID, BODY, TIMESTAMP)
    assert not verify(SECRET, headers, BODY + b" ", now=TIMESTAMP)
    assert not verify(SECRET, headers, BODY, now=TIMESTAMP + 301)
    assert not verify("whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=", headers, BODY, now=TIMESTAMP)
    # A receiver accepts any one of several space-separated signatures (secret rotation).
    rotated = {**headers, "webhook-signature": "v1,bm90LXRoaXMtb25l " + headers["webhook-signature"]}
    assert verify(SECRET, rotated, BODY, now=TIMESTAMP)
