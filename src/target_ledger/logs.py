"""Logging: one JSON object a line on stderr (or console lines for people), ours and every library's alike."""

import logging
import sys

import structlog

from target_ledger.config import Settings

# What every line carries, whoever logged it: structlog's loggers and the standard library's
# (ours, uvicorn's, asyncpg's) go through the same steps, so a line inside a request has its
# request_id (bound in contextvars by the API's middleware) whichever logger wrote it.
_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    lambda _, __, event: {k: v for k, v in event.items() if k != "color_message"},  # uvicorn's, with ANSI codes
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
]


def configure_logging(settings: Settings | None = None) -> structlog.stdlib.BoundLogger:
    """Send every logger's records to stderr through structlog's renderer; safe to call again
    (each uvicorn worker process calls it when it builds its app). Returns the commands' logger."""
    settings = settings or Settings.from_env()
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise ValueError(f"TL_LOG_LEVEL: unknown level {settings.log_level!r} (DEBUG, INFO, WARNING, ERROR)")
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.setLevel(level)  # uvicorn sets its own loggers' levels; this one bounds them all
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own handlers would print a second, plain line
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # The API writes its own access line (with the request id and the route): none from uvicorn,
    # which logs access only when this logger has a handler somewhere.
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
    use_standard_logging()
    return structlog.stdlib.get_logger("target_ledger.cli")


def use_standard_logging() -> None:
    """structlog's loggers write through the standard library's, whether or not configure_logging
    ran (an app built in a test or a bench logs where their handlers are, not on stdout)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # first: a line below the level costs nothing more
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
