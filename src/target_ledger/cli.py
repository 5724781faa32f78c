"""The `target-ledger` command: serve, migrate, project, verify, token."""

import asyncio
import os
import signal
import sys
from datetime import timedelta

import click

from target_ledger.config import Settings
from target_ledger.database import connect, create_pool, migrate, resolve_url
from target_ledger.domain.access import ROLES


@click.group()
def main() -> None:
    """Target Ledger: event-sourced sales targets. Without DATABASE_URL, an embedded
    PostgreSQL is started in the data directory (TL_DATA_DIR)."""


@main.command()
@click.option("--host", default=None, help="Listen address [TL_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Listen port [TL_PORT, 8000].")
@click.option("--workers", type=int, default=None, help="API processes [TL_WORKERS, 1].")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Migrate, then serve the HTTP API (uvicorn) with projections in-process."""
    import uvicorn

    settings = Settings.from_env(host=host, port=port, workers=workers)
    url = resolve_url(settings)
    applied = migrate(url)
    click.echo(f"database ready ({len(applied)} migrations applied)", err=True)
    os.environ["DATABASE_URL"] = url  # workers (and their projections) use the same server
    settings.secret()  # made once here, not raced by several workers
    # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it lets the
    # embedded PostgreSQL's exit hook stop the server instead of orphaning it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "target_ledger.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
    )


@main.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (safe to run twice, and from two processes at once)."""
    applied = migrate(resolve_url(Settings.from_env()))
    click.echo("\n".join(applied) if applied else "nothing to apply")


@main.command()
def project() -> None:
    """Run the projections as a standalone worker until SIGTERM or SIGINT."""
    from projections.runner import PROJECTIONS, supervise
    from target_ledger.eventstore import EventStore
    from target_ledger.eventstore.subscription import Notifier

    async def run() -> None:
        settings = Settings.from_env()
        url = resolve_url(settings)
        migrate(url)
        pool = await create_pool(url, settings, "target-ledger-project")
        store = EventStore(pool)
        notifier = Notifier(pool)
        async with connect(url, settings, "target-ledger-project") as listener:
            await notifier.listen(listener)
            tasks = [asyncio.create_task(supervise(pool, store, notifier, p)) for p in PROJECTIONS]
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            click.echo(f"projecting: {', '.join(p.NAME for p in PROJECTIONS)}", err=True)
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()

    asyncio.run(run())


@main.command()
def verify() -> None:
    """Re-check every stream's hash chain; exit 1 naming the first broken link of each."""
    from target_ledger.eventstore.verify import broken_links

    async def run() -> list:
        settings = Settings.from_env()
        async with connect(resolve_url(settings), settings) as conn:
            return await broken_links(conn)

    links = asyncio.run(run())
    for link in links:
        click.echo(f"BROKEN {link}")
    if links:
        sys.exit(1)
    click.echo("every stream's hash chain is intact")


@main.command()
@click.argument("subject")
@click.option("--role", type=click.Choice(ROLES), default=None, help="A system role, if any.")
@click.option("--ttl-hours", type=float, default=12.0, show_default=True)
def token(subject: str, role: str | None, ttl_hours: float) -> None:
    """Print a bearer token for SUBJECT (a person id) that the configured server accepts."""
    from target_ledger.api.auth import issue_token

    click.echo(issue_token(Settings.from_env().secret(), subject, role, timedelta(hours=ttl_hours)))


if __name__ == "__main__":
    main()
