"""Standard Webhooks signatures: HMAC-SHA256 over "<id>.<timestamp>.<body>" with the subscriber's secret."""

import base64
import hashlib
import hmac
import os
import time

PREFIX = "whsec_"
TOLERANCE = 300  # seconds: a receiver refuses older (replayed) messages


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(32)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three headers a Standard Webhooks receiver checks."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """What a receiver does: recent timestamp, and one of the (space-separated) signatures matches."""
    try:
        msg_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE:
        return False
    expected = signature(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in headers.get("webhook-signature", "").split())
