"""The `target-ledger` command: serve, migrate, project, verify, token, bench."""

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from target_ledger.application import Command
from target_ledger.config import Settings
from target_ledger.database import connect, create_pool, migrate, resolve_url
from target_ledger.domain.access import ROLES
from target_ledger.logs import configure_logging


def _operator_error(e: Exception) -> str | None:
    """The one line that tells an operator what went wrong, for the failures an operator causes
    and mends (a database that is down, a login without the rights to migrate, an unreadable
    key); None for anything else, which is a bug and keeps its traceback."""
    import asyncpg
    import psycopg

    from target_ledger.calendar_settings import CalendarChangedError, CalendarSettingError
    from target_ledger.eventstore.anchor import CheckpointError

    said = " ".join(str(e).split()) or type(e).__name__  # psycopg's messages span lines
    if isinstance(e, psycopg.errors.InsufficientPrivilege):  # only the migrations use psycopg
        return (
            f"{said}: the migrations need the login that owns the ledger's tables, and serve and project"
            " run them at start-up. Run `target-ledger migrate` with DATABASE_URL naming that owner, and let"
            " the service log in as the owner too: its sessions switch to TL_DB_ROLE (target_ledger_app) themselves"
        )
    if isinstance(e, psycopg.Error) and e.sqlstate == "TL412":  # a migration's precondition, with what to do
        return f"{said}. {e.diag.message_hint}"
    if isinstance(e, asyncpg.InsufficientPrivilegeError):
        return f"the database refused: {said}"
    connecting = (
        psycopg.OperationalError,
        asyncpg.PostgresConnectionError,
        asyncpg.InvalidAuthorizationSpecificationError,  # no such role, wrong password
        asyncpg.InvalidCatalogNameError,  # no such database
        asyncpg.CannotConnectNowError,  # starting up or shutting down
        asyncpg.TooManyConnectionsError,
    )
    # An OSError naming no file is the socket's: refused, timed out, no such host or unix socket.
    if isinstance(e, OSError) and e.filename is None and e.errno:
        said = f"{os.strerror(e.errno)}: {e.strerror}"  # asyncpg's says only "Connect call failed"
    if isinstance(e, connecting) or (isinstance(e, OSError) and e.filename is None):
        return f"cannot reach the database (DATABASE_URL): {said}"
    if isinstance(e, OSError | CheckpointError | CalendarSettingError | CalendarChangedError):
        return said
    return None


class _OperatorErrors(click.Group):
    """Every command's known operator errors end in one line on stderr and exit 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as e:
            said = _operator_error(e)
            if said is None:
                raise
            raise click.ClickException(said) from None


@click.group(cls=_OperatorErrors)
@click.version_option(package_name="target-ledger", prog_name="target-ledger")
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

    from target_ledger.serving import uvicorn_options

    settings = Settings.from_env(host=host, port=port, workers=workers)
    log = configure_logging(settings)
    url = resolve_url(settings)
    applied = migrate(url)
    log.info("database ready", migrations_applied=len(applied))
    asyncio.run(_calendar_recorded(url, settings))  # here, in one line, rather than in each worker's traceback
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
        **uvicorn_options(settings),
    )


async def _calendar_recorded(url: str, settings: Settings) -> None:
    from target_ledger.calendar_settings import check_recorded

    calendar = settings.fiscal_calendar()
    async with connect(url, settings, "target-ledger-serve") as conn:
        await check_recorded(conn, calendar)


@main.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (safe to run twice, and from two processes at once)."""
    applied = migrate(resolve_url(Settings.from_env()))
    click.echo("\n".join(applied) if applied else "nothing to apply")


@main.command()
def project() -> None:
    """Run the projections as a standalone worker until SIGTERM or SIGINT."""
    from projections.runner import PROJECTIONS, Locks, read_model_pool, supervise
    from target_ledger.eventstore import EventStore
    from target_ledger.eventstore.anchor import publishing
    from target_ledger.eventstore.subscription import Notifier, listening
    from target_ledger.scheduler import for_service

    async def run() -> None:
        settings = Settings.from_env()
        log = configure_logging(settings)
        url = resolve_url(settings)
        migrate(url)
        await _calendar_recorded(url, settings)  # the scheduler judges weeks on it
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        # A standby holds one session, for the locks, until it takes one (README: connections).
        read_models = await read_model_pool(url, settings)
        locks = Locks(read_models)
        waiting = asyncio.create_task(locks.first([p.NAME for p in PROJECTIONS]))
        await asyncio.wait([waiting, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            await locks.close()
            await read_models.close()
            return
        pool = await create_pool(url, settings, "target-ledger-project")
        store = EventStore(pool)
        notifier = Notifier(pool)
        async with listening(url, settings, notifier.listen):
            tasks = [asyncio.create_task(supervise(read_models, store, notifier, p, locks=locks)) for p in PROJECTIONS]
            # The alert scheduler runs where the projections do (one process at a time judges).
            tasks.append(asyncio.create_task(for_service(store, settings, lambda: datetime.now(UTC)).run()))
            tasks.extend(publishing(store, settings))  # signed checkpoints, if TL_CHECKPOINT_KEY and _DIR are set
            log.info("projecting", projections=[p.NAME for p in PROJECTIONS])
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await read_models.close()
        await pool.close()

    asyncio.run(run())


@main.group("import")
def import_group() -> None:
    """Import data from files."""


def _source_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from target_ledger.domain.actual import check_source
    from target_ledger.domain.errors import DomainError

    try:
        check_source(value)
    except DomainError as e:
        raise click.BadParameter(str(e)) from None
    return value


def _actor_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The --actor value, by the rule a token's subject follows (1-256 characters, no control character)."""
    from target_ledger.api.auth import check_subject

    try:
        check_subject(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return value


@import_group.command("actuals")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write rejected rows [FILE.rejects.csv; FILE.rejects.jsonl for JSON Lines].",
)
@click.option(
    "--source",
    default="import",
    show_default=True,
    callback=_source_name,
    help="Where rows that name no source came from (any name: 1-64 letters, digits, '.', '_' or '-').",
)
@click.option(
    "--actor",
    default="import",
    show_default=True,
    callback=_actor_name,
    help="Who the events are recorded as (1-256 characters, as a token's subject).",
)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=1000, show_default=True)
def import_actuals(file: Path, rejects: Path | None, source: str, actor: str, batch_size: int) -> None:
    """Import actuals from a CSV FILE (header: person,metric,date,value[,source,external_ref,scope.<dim>...];
    comma, semicolon or tab), an .xlsx workbook (its first sheet, the same header) or JSON Lines,
    streaming; safe to re-run after an interruption. Empty or missing trailing values take their
    defaults. Rejected rows go to the rejects file in the file's columns plus `error`: fixed, it
    imports as it is. Exit 1 if a row was rejected or the header is wrong."""
    from target_ledger.import_rows import JSON_LINES, HeaderError
    from target_ledger.importer import Rejects, Summary
    from target_ledger.importer import import_actuals as run_import

    kind = "jsonl" if file.suffix.lower() in JSON_LINES else "csv"
    rejects = rejects or file.with_name(f"{file.name}.rejects.{kind}")

    async def run() -> Summary:
        async with _service(actor) as cmd, cmd_notifier(cmd):
            with rejects.open("w", newline="", encoding="utf-8") as out:
                return await run_import(cmd, file, Rejects(out), source=source, batch_size=batch_size)

    try:
        summary, wrong = asyncio.run(run()), None
    except HeaderError as e:
        summary, wrong = Summary(), e
    click.echo(f"stored {summary.stored}, duplicates {summary.duplicates}, rejected {summary.rejected}")
    if summary.skipped:
        click.echo(f"sheets skipped: {', '.join(summary.skipped)}")
    if wrong:
        click.echo(f"nothing imported: {wrong}", err=True)
    elif summary.rejected:
        click.echo(f"rejected rows and why: {rejects}")
    if wrong or summary.rejected:
        sys.exit(1)


class _ListsProjections(click.Command):
    """A command whose help ends with the projections' names (read when the help is shown)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from projections.runner import PROJECTIONS

        formatter.write_paragraph()
        formatter.write_text(f"PROJECTION is one of: {', '.join(p.NAME for p in PROJECTIONS)}.")
        super().format_epilog(ctx, formatter)


@main.command(cls=_ListsProjections)
@click.argument("projection", required=False)
def rebuild(projection: str | None) -> None:
    """Rebuild PROJECTION's read model (every projection's, one after another, without it)
    from the first event, beside the live one, and swap it in at once: reads answer from
    the old complete model until then. Runs as the database login user (it creates and drops
    tables, as migrations do); running workers carry on from the rebuilt model."""
    import asyncpg
    from tqdm import tqdm

    from projections.rebuild import RebuildRunningError, SwapBlockedError
    from projections.rebuild import rebuild as rebuild_beside
    from projections.runner import PROJECTIONS
    from target_ledger.calendar_settings import check_recorded
    from target_ledger.eventstore import EventStore

    chosen = [p for p in PROJECTIONS if projection in (None, p.NAME)]
    if not chosen:
        raise click.BadParameter(f"known: {', '.join(p.NAME for p in PROJECTIONS)}", param_hint="PROJECTION")

    async def run() -> None:
        settings = Settings.from_env()
        calendar = settings.fiscal_calendar()
        pool = await create_pool(resolve_url(settings), settings, "target-ledger-rebuild", size=1)
        try:
            async with pool.acquire() as conn:
                # A read model rebuilt on another calendar than the one its keys were stored on would
                # hold them as other days: refused as `serve` refuses it.
                await check_recorded(conn, calendar)
                for module in chosen:
                    with tqdm(desc=module.NAME, unit=" events", unit_scale=True, dynamic_ncols=True) as bar:

                        def advance(done: int, total: int, bar: tqdm = bar) -> None:
                            bar.total = total
                            bar.update(done - bar.n)

                        try:
                            at = await rebuild_beside(conn, EventStore(pool), module, advance)
                        except (RebuildRunningError, SwapBlockedError) as e:
                            raise click.ClickException(str(e)) from None
                        except asyncpg.InsufficientPrivilegeError as e:
                            raise click.ClickException(
                                f"{e}: a rebuild creates and drops tables, so it needs the login of the user"
                                " that runs migrations (DATABASE_URL), not the service role's"
                            ) from None
                    click.echo(f"{module.NAME}: rebuilt from {bar.n:,} events and swapped in at position {at.position}")
        finally:
            await pool.close()

    asyncio.run(run())


@main.command()
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Also check the log against this signed checkpoint (a directory: its newest).",
)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The public key the checkpoint must be signed with.",
)
def verify(checkpoint: Path | None, public_key: Path | None) -> None:
    """Re-check every stream's hash chain; exit 1 naming the first broken link of each. With
    --checkpoint, also recompute the log's digest up to the checkpoint and exit 1 naming what
    differs: a removed or re-hashed tail, an edited ordering column (xid)."""
    from target_ledger.eventstore import EventStore, anchor
    from target_ledger.eventstore.verify import broken_links

    def signed_checkpoint(path: Path, public_key: Path) -> anchor.Checkpoint:
        """The checkpoint at path (a directory: its newest), or exit 1 saying why it is refused."""
        try:
            if path.is_dir():
                newest = anchor.newest_file(path)
                if newest is None:
                    raise anchor.CheckpointError(f"{path} holds no checkpoint")
                path = newest
            return anchor.read_signed(path, anchor.load_public_key(public_key))
        except (anchor.CheckpointError, ValueError) as e:  # ValueError: not a PEM key
            click.echo(f"REFUSED {e}")
            sys.exit(1)

    if (checkpoint is None) != (public_key is None):
        raise click.UsageError("--checkpoint and --public-key go together")
    signed = signed_checkpoint(checkpoint, public_key) if checkpoint and public_key else None

    async def run() -> tuple[list, list[str]]:
        settings = Settings.from_env()
        url = resolve_url(settings)
        async with connect(url, settings) as conn:
            links = await broken_links(conn)
        if signed is None:
            return links, []
        pool = await create_pool(url, settings, "target-ledger-verify", size=2)
        try:
            return links, await anchor.departures(EventStore(pool), signed)
        finally:
            await pool.close()

    links, departures = asyncio.run(run())
    for link in links:
        click.echo(f"BROKEN {link}")
    for departure in departures:
        click.echo(f"TAMPERED {departure}")
    if links or departures:
        sys.exit(1)
    click.echo("every stream's hash chain is intact")
    if signed is not None:
        head = signed.head
        click.echo(f"intact up to position {head.position} ({head.count} events), as signed at {signed.signed_at}")


@main.group("checkpoint")
def checkpoint_group() -> None:
    """Signed checkpoints of the log, kept off the database host: evidence of a rewritten history."""


@checkpoint_group.command("keygen")
@click.argument("private_key_file", type=click.Path(dir_okay=False, path_type=Path))
def checkpoint_keygen(private_key_file: Path) -> None:
    """Write a new Ed25519 signing key to PRIVATE_KEY_FILE (mode 0600, never over an existing
    file) and its public key to PRIVATE_KEY_FILE.pub; print the public key."""
    from target_ledger.eventstore import anchor

    private, public = anchor.new_key()
    public_file = private_key_file.with_name(private_key_file.name + ".pub")
    try:
        fd = os.open(private_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.UsageError(f"{private_key_file} exists; a key is never overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    public_file.write_bytes(public)
    click.echo(public.decode(), nl=False)
    click.echo(f"private key: {private_key_file} (keep it off the database host); public key: {public_file}", err=True)


@checkpoint_group.command("write")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), required=True)
def checkpoint_write(key: Path, directory: Path) -> None:
    """Sign and write the checkpoint after the newest one in DIR (continued from its digest)."""
    from target_ledger.eventstore import EventStore, anchor

    async def run() -> tuple[Path, anchor.Checkpoint] | None:
        settings = Settings.from_env()
        pool = await create_pool(resolve_url(settings), settings, "target-ledger-checkpoint", size=2)
        try:
            return await anchor.write_next(EventStore(pool), anchor.load_private_key(key), directory)
        finally:
            await pool.close()

    try:
        written = asyncio.run(run())
    except (anchor.CheckpointError, ValueError) as e:  # ValueError: not a PEM key
        raise click.ClickException(str(e)) from None
    except FileExistsError as e:  # a worker (or another run) wrote the same checkpoint meanwhile
        taken = e.filename2 or e.filename
        raise click.ClickException(f"{taken} was written meanwhile by another writer; run again") from None
    if written is None:
        # No checkpoint to continue and nothing to sign: no event at all.
        empty = anchor.newest_file(directory) is None
        click.echo("the log has no events yet: nothing to sign" if empty else "nothing new since the newest checkpoint")
        return
    path, checkpoint = written
    click.echo(f"wrote {path}: {checkpoint.head.count} events up to position {checkpoint.head.position}")


@main.command()
@click.argument("subject")
@click.option("--role", type=click.Choice(ROLES), default=None, help="A system role, if any.")
@click.option("--ttl-hours", type=float, default=12.0, show_default=True)
@click.option("--node", default=None, help="Limit the integration events it reads to this node's subtree.")
def token(subject: str, role: str | None, ttl_hours: float, node: str | None) -> None:
    """Print a bearer token for SUBJECT (a person id) that the configured server accepts."""
    from target_ledger.api.auth import issue_token

    try:
        click.echo(issue_token(Settings.from_env().secret(), subject, role, timedelta(hours=ttl_hours), node))
    except ValueError as e:  # a claim the server would refuse: say which, print no token
        raise click.UsageError(str(e)) from None


@main.group("relay")
def relay_group() -> None:
    """Relay the public integration events to a message system."""


@relay_group.command("nats")
def relay_nats() -> None:
    """Publish the public events to a NATS JetStream stream (TL_NATS_URL, TL_NATS_STREAM,
    TL_NATS_SUBJECT) until SIGTERM or SIGINT; resumes after a restart without re-publishing."""
    from target_ledger.eventstore.subscription import listening
    from target_ledger.integration.feed import FeedSignal
    from target_ledger.integration.relay import Target, relay

    async def run() -> None:
        settings = Settings.from_env()
        log = configure_logging(settings)
        url = resolve_url(settings)
        migrate(url)
        pool = await create_pool(url, settings, "target-ledger-relay")
        woken = FeedSignal()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        try:
            async with listening(url, settings, woken.listen):
                target = Target(settings.nats_url, settings.nats_stream, settings.nats_subject)
                log.info("relaying public events", stream=target.stream, nats=target.url)
                published = await relay(pool, woken, target, stop)
                log.info("relay stopped", published=published)
        finally:
            await pool.close()

    asyncio.run(run())


def _counts(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    """A comma-separated list of sizes, each at least 1."""
    try:
        counts = tuple(int(n) for n in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: sizes separated by commas, such as 10000,40000") from None
    if min(counts) < 1:
        raise click.BadParameter(f"{value!r}: each size is at least 1")
    return counts


@main.command()
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("BENCHMARKS.md"), show_default=True
)
@click.option("--repetitions", type=click.IntRange(1), default=3, show_default=True)
@click.option(
    "--appends", type=click.IntRange(1), default=3000, show_default=True, help="Single-event appends per contender."
)
@click.option(
    "--batches", type=click.IntRange(1), default=10, show_default=True, help="1,000-event batches per contender."
)
@click.option("--requests", type=click.IntRange(1), default=2000, show_default=True, help="HTTP requests per figure.")
@click.option("--import-batches", type=click.IntRange(1), default=10, show_default=True)
@click.option("--lag-seconds", type=click.FloatRange(0.5), default=5.0, show_default=True)
@click.option(
    "--rebuild-events", default="10000", show_default=True, callback=_counts, help="Ledger sizes (events), rebuilt."
)
@click.option(
    "--growth", default="10000,40000", show_default=True, callback=_counts, help="Ledger sizes (events), growth row."
)
@click.option("--seconds", type=click.FloatRange(0.5), default=10.0, show_default=True, help="Cap on each timed loop.")
@click.option("--matrix-people", type=click.IntRange(2), default=20, show_default=True, help="features: matrices.")
@click.option("--matrix-products", type=click.IntRange(1, 800), default=50, show_default=True)
@click.option("--plan-targets", type=click.IntRange(50), default=10_000, show_default=True, help="features.")
@click.option("--page-actuals", type=click.IntRange(1000), default=20_000, show_default=True, help="features.")
@click.option(
    "--memory-rows", default="10000,100000", show_default=True, callback=_counts, help="memory: actuals file sizes."
)
@click.option(
    "--only",
    default="appends,http,lag,rebuild,growth",
    show_default=True,
    help="Which groups of figures (also: features, memory).",
)
@click.option("--section", default="default", show_default=True, help="Which run of BENCHMARKS.md this replaces.")
def bench(
    output: Path,
    growth: tuple[int, ...],
    rebuild_events: tuple[int, ...],
    memory_rows: tuple[int, ...],
    only: str,
    section: str,
    **sizes: int,
) -> None:
    """Measure the service against its baselines in one run; print and write BENCHMARKS.md.
    Uses DATABASE_URL's server (scratch databases are created and dropped), else an embedded one."""
    from target_ledger.bench import Sizes, run

    chosen = Sizes(
        growth=growth,
        rebuild_events=rebuild_events,
        memory_rows=memory_rows,
        **sizes,  # type: ignore[arg-type]
    )
    click.echo(run(Settings.from_env().database_url, chosen, output, set(only.split(",")), section))


@contextlib.asynccontextmanager
async def _service(actor: str) -> AsyncIterator[Command]:
    """A command context for work done from the command line, as `actor` (integration role)."""
    from target_ledger.application import Caches
    from target_ledger.calendar_settings import check_recorded
    from target_ledger.domain.access import Principal
    from target_ledger.eventstore import EventStore

    settings = Settings.from_env()
    url = resolve_url(settings)
    migrate(url)
    calendar = settings.fiscal_calendar()
    pool = await create_pool(url, settings, "target-ledger-cli")
    try:
        async with pool.acquire() as conn:
            await check_recorded(conn, calendar)
        yield Command(
            store=EventStore(pool),
            clock=lambda: datetime.now(UTC),
            actor=Principal(actor, "integration"),
            request_id=uuid.uuid4().hex,
            calendar=calendar,
            caches=Caches(),
            actual_max_days_ahead=settings.actual_max_days_ahead,
        )
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def cmd_notifier(cmd: Command) -> AsyncIterator[None]:
    """Wake the server's projections after our appends (they also poll, so this only speeds them up)."""
    from target_ledger.eventstore.subscription import Notifier

    notifier = Notifier(cmd.store.pool)
    cmd.store.on_append.append(notifier.appended)
    try:
        yield
    finally:
        await notifier.close()


@import_group.command("plan")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what the import would do; store nothing.")
@click.option(
    "--actor",
    default="plan-import",
    show_default=True,
    callback=_actor_name,
    help="The name the events are recorded under (their metadata's actor), with admin rights (1-256 characters).",
)
def import_plan(file: Path, dry_run: bool, actor: str) -> None:
    """Import the annual plan from an .xlsx or CSV FILE: a row per target (node, metric, period,
    scope, target, stretch, rationale, part of; zh-CN or en headers) and optional split columns
    (periods such as 2026-03, or dimension values such as product:A); the rows naming a node in
    `part of` make that node's target's org split. All of it is stored in one append, or nothing;
    the same file again changes nothing; a changed value of an existing target is listed as needing
    an adjustment request, never applied; a part above its whole is a warning. Exit 1 if anything
    is wrong.

    This command runs as the admin ACTOR on the server: it bypasses the rights of each manager
    that POST /v1/plans/import applies (there each row needs its importer to manage a unit above
    the row's node)."""
    import dataclasses
    import hashlib

    from target_ledger.application.plans import PlanReport
    from target_ledger.application.plans import import_plan as run_import
    from target_ledger.domain.access import Principal
    from target_ledger.domain.errors import DomainError
    from target_ledger.plan_file import PlanFileError, read_plan_file

    content = file.read_bytes()
    try:
        plan = read_plan_file(content, file.name, str(file))
    except PlanFileError as e:
        raise click.ClickException(str(e)) from None
    lines, problems = plan.lines, plan.problems
    if plan.skipped:
        click.echo(f"sheets skipped: {', '.join(plan.skipped)}", err=True)

    async def run() -> PlanReport:
        async with _service(actor) as service, cmd_notifier(service):
            cmd = dataclasses.replace(service, actor=Principal(actor, "admin"))
            digest = hashlib.sha256(content).hexdigest()
            return await run_import(cmd, lines, digest, dry_run=dry_run or bool(problems))

    try:
        report = asyncio.run(run())
    except DomainError as e:
        raise click.ClickException(str(e)) from None
    for target in report.targets_to_set:
        scope = "".join(f" {k}={v}" for k, v in target.scope.items())
        click.echo(f"set {target.node} {target.metric} {target.period}{scope}: {target.value}")
    for split in report.splits:
        parts = ", ".join(f"{k} {v}" for k, v in split.parts.items())
        click.echo(f"split {split.target_id} along {split.axis}: {parts}")
    for p in report.needs_adjustment:
        click.echo(f"needs an adjustment request: {p.sheet}!{p.row} {p.column or ''}: {p.message}")
    for p in report.warnings:
        click.echo(f"warning: {p.sheet}!{p.row} {p.column or ''}: {p.message}", err=True)
    errors = [*problems, *report.errors]
    for p in errors:
        click.echo(f"error: {p.sheet}!{p.row} {p.column or ''}: {p.message}", err=True)
    stored = f"stored at position {report.position}" if report.stored else "nothing stored"
    click.echo(
        f"targets to set {len(report.targets_to_set)}, splits {len(report.splits)}, unchanged {report.unchanged}, "
        f"needing an adjustment request {len(report.needs_adjustment)}, errors {len(errors)}, "
        f"warnings {len(report.warnings)}; {stored}"
        f"{' (dry run)' if dry_run else ''}"
    )
    if errors or report.needs_adjustment:  # a row the file asks for and the import cannot apply is wrong too
        sys.exit(1)


@main.group("export")
def export_group() -> None:
    """Export data to files."""


@export_group.command("plan")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--year", default=None, help="The plan's year, e.g. 2026 [this year].")
@click.option("--lang", type=click.Choice(["en", "zh-CN"]), default="en", show_default=True, help="Header language.")
def export_plan(file: Path, year: str | None, lang: str) -> None:
    """Write the year's plan to an .xlsx FILE in the layout `import plan` reads, so it round-trips:
    a row per target, a target split along time or a dimension with its parts as split columns (a
    part split further is a row too), a part of an org split naming its parent in `part of`."""
    from target_ledger.application import ReadModelBehindError
    from target_ledger.application.plan_export import plan_of_year
    from target_ledger.domain.errors import DomainError
    from target_ledger.plan_file import write_plan

    async def run() -> tuple[str, list, dict[str, str]]:
        async with _service("plan-export") as cmd:
            chosen = year or str(cmd.today().year)
            rows = await plan_of_year(cmd, chosen)
            catalog = await cmd.catalog()
            return chosen, rows, {m: catalog.metric(m).unit for m in {r["metric"] for r in rows}}

    try:
        chosen, rows, units = asyncio.run(run())
    except (DomainError, ReadModelBehindError) as e:
        raise click.ClickException(str(e)) from None
    file.write_bytes(write_plan(rows, units, lang, f"{chosen}"))
    parts = sum(len(r["splits"]) for r in rows)
    click.echo(f"wrote {len(rows)} row(s), {len(rows) + parts} target(s) with the split parts, of {chosen} to {file}")


if __name__ == "__main__":
    main()
