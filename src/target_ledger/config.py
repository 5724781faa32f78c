"""Settings from the environment, in one Struct."""

import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec
import platformdirs

from target_ledger.calendar_settings import fiscal_calendar
from target_ledger.domain.calendar import Calendar


def default_data_dir() -> str:
    # Embedded PostgreSQL opens read/execute on every parent of its data directory when
    # run as root; /var/lib keeps that away from /root.
    if os.geteuid() == 0:
        return "/var/lib/target-ledger"
    return platformdirs.user_data_dir("target-ledger")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    data_dir: str = msgspec.field(default_factory=default_data_dir)
    db_role: str = "target_ledger_app"
    jwt_secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    header_timeout: float = 10.0  # seconds a client has to send a request's line and headers
    body_timeout: float = 60.0  # seconds a client has to send a request's body, once its headers came
    max_header_bytes: int = 16384  # the most a request's line and headers may take
    shutdown_timeout: float = 10.0  # seconds requests still running after SIGTERM get before they are cancelled
    pool_size: int = 20  # for requests; the projections have a pool of their own (read_model_pool)
    run_projections: bool = True
    min_position_timeout: float = 5.0
    fiscal_year_start: int = 1  # month; set it once: period keys of stored targets follow it
    calendar: str = "gregorian"  # or 445, 454, 544: a retail calendar of whole weeks (fiscal_calendar())
    fiscal_year_end_weekday: str | None = None  # retail: the weekday a year ends on (saturday)
    fiscal_year_end_near: str | None = None  # retail: MM-DD the year ends nearest to (01-31)
    pace_on_track: Decimal = Decimal(100)  # pace % at or above: on track
    pace_at_risk: Decimal = Decimal(80)  # pace % at or above: at risk; below: behind
    actual_max_days_ahead: int = 31  # an actual dated later than this many days after today is refused
    timezone: str = "UTC"  # where days and weeks end, for the alert scheduler
    scheduler_interval: float = 60.0  # seconds between the scheduler's looks at the clock
    sse_heartbeat: float = 15.0  # seconds of quiet before a stream sends a comment line
    webhook_max_failures: int = 8  # failed deliveries in a row that pause a subscription
    webhook_allow_private: bool = False  # let webhooks point at loopback or private addresses
    webhook_backoff: float = 1.0  # seconds before the first retry; doubled each time, with jitter
    webhook_backoff_max: float = 600.0
    webhook_timeout: float = 10.0  # seconds a receiver has to answer
    webhook_poll: float = 1.0  # seconds between looks for due deliveries when nothing wakes the worker
    run_webhooks: bool = True
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream: str = "TARGET_LEDGER"
    nats_subject: str = "target_ledger"  # events go to <this>.<type>
    checkpoint_key: str | None = None  # Ed25519 private key (PEM) the `project` worker signs checkpoints with
    checkpoint_dir: str | None = None  # where it writes them; both set, or no periodic checkpoints
    checkpoint_interval: float = 3600.0  # seconds between the worker's checkpoints
    ready_max_lag: int = 1000  # events a projection may be behind the log before /health/ready answers 503
    log_format: Literal["json", "console"] = "json"  # json (one object a line), or console for people
    log_level: str = "INFO"
    # OpenID Connect: with an issuer, the API also takes its RS256/ES256 tokens (api/issuer.py) and
    # the console offers sign-in with it.
    oidc_issuer: str | None = None  # exactly the `iss` of its tokens; <issuer>/.well-known/openid-configuration
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_subject_claim: str = "sub"  # the claim that names the actor
    oidc_role_claim: str = "role"  # the claim holding one of the ledger's roles, or absent
    oidc_audience: str | None = None  # the `aud` its tokens must carry; the client id when unset

    def __post_init__(self) -> None:
        if self.oidc_issuer and not self.token_audience:
            raise ValueError("TL_OIDC_ISSUER needs TL_OIDC_CLIENT_ID or TL_OIDC_AUDIENCE (the `aud` of its tokens)")

    @property
    def token_audience(self) -> str | None:
        """The audience the issuer's tokens must name."""
        return self.oidc_audience or self.oidc_client_id

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        env = os.environ
        values: dict[str, object] = {
            "database_url": env.get("DATABASE_URL") or None,
            "jwt_secret": env.get("TL_JWT_SECRET") or None,
            "run_projections": env.get("TL_RUN_PROJECTIONS", "1") not in ("0", "false", "no"),
            "run_webhooks": env.get("TL_RUN_WEBHOOKS", "1") not in ("0", "false", "no"),
            "webhook_allow_private": env.get("TL_WEBHOOK_ALLOW_PRIVATE", "0") not in ("0", "false", "no"),
        }
        for name, var in [
            ("data_dir", "TL_DATA_DIR"),
            ("db_role", "TL_DB_ROLE"),
            ("host", "TL_HOST"),
            ("port", "TL_PORT"),
            ("workers", "TL_WORKERS"),
            ("header_timeout", "TL_HEADER_TIMEOUT"),
            ("body_timeout", "TL_BODY_TIMEOUT"),
            ("max_header_bytes", "TL_MAX_HEADER_BYTES"),
            ("shutdown_timeout", "TL_SHUTDOWN_TIMEOUT"),
            ("pool_size", "TL_POOL_SIZE"),
            ("min_position_timeout", "TL_MIN_POSITION_TIMEOUT"),
            ("fiscal_year_start", "TL_FISCAL_YEAR_START"),
            ("calendar", "TL_CALENDAR"),
            ("fiscal_year_end_weekday", "TL_FISCAL_YEAR_END_WEEKDAY"),
            ("fiscal_year_end_near", "TL_FISCAL_YEAR_END_NEAR"),
            ("pace_on_track", "TL_PACE_ON_TRACK"),
            ("pace_at_risk", "TL_PACE_AT_RISK"),
            ("actual_max_days_ahead", "TL_ACTUAL_MAX_DAYS_AHEAD"),
            ("timezone", "TL_TIMEZONE"),
            ("scheduler_interval", "TL_SCHEDULER_INTERVAL"),
            ("sse_heartbeat", "TL_SSE_HEARTBEAT"),
            ("webhook_max_failures", "TL_WEBHOOK_MAX_FAILURES"),
            ("webhook_backoff", "TL_WEBHOOK_BACKOFF"),
            ("webhook_backoff_max", "TL_WEBHOOK_BACKOFF_MAX"),
            ("webhook_timeout", "TL_WEBHOOK_TIMEOUT"),
            ("webhook_poll", "TL_WEBHOOK_POLL"),
            ("nats_url", "TL_NATS_URL"),
            ("nats_stream", "TL_NATS_STREAM"),
            ("nats_subject", "TL_NATS_SUBJECT"),
            ("checkpoint_key", "TL_CHECKPOINT_KEY"),
            ("checkpoint_dir", "TL_CHECKPOINT_DIR"),
            ("checkpoint_interval", "TL_CHECKPOINT_INTERVAL"),
            ("ready_max_lag", "TL_READY_MAX_LAG"),
            ("log_format", "TL_LOG_FORMAT"),
            ("log_level", "TL_LOG_LEVEL"),
            ("oidc_issuer", "TL_OIDC_ISSUER"),
            ("oidc_client_id", "TL_OIDC_CLIENT_ID"),
            ("oidc_client_secret", "TL_OIDC_CLIENT_SECRET"),
            ("oidc_subject_claim", "TL_OIDC_SUBJECT_CLAIM"),
            ("oidc_role_claim", "TL_OIDC_ROLE_CLAIM"),
            ("oidc_audience", "TL_OIDC_AUDIENCE"),
        ]:
            if var in env:
                values[name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return msgspec.convert(values, cls, strict=False)

    def fiscal_calendar(self) -> Calendar:
        """The calendar TL_CALENDAR and its companions describe; a ValueError naming them if they do not."""
        return fiscal_calendar(self)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    def secret(self) -> str:
        """The JWT secret: from TL_JWT_SECRET, else made once and kept in the data directory."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_path / "jwt-secret"
        if not path.exists():
            self.data_path.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex())
        return path.read_text().strip()
