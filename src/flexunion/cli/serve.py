"""`flexunion serve`: the API, with the embedded PostgreSQL when DATABASE_URL is unset.

SIGTERM and SIGINT (Ctrl-C) stop it cleanly with exit status 0, the embedded PostgreSQL
too. A signal while it starts takes effect at the next step (the embedded server is not
cut half way); a second one interrupts at once. While uvicorn serves it handles both
signals itself; when it has shut down it restores the handlers it found and raises the
signal again: with Python's defaults SIGTERM then killed the process on the spot, before
any `finally` or exit handler could stop the database.

The job worker (jobs/, `flexunion worker`) runs beside the API in this process, in a thread
of its own, when the database is the embedded one (the quick start: transfers release and
ballots close on time without a second command); `--no-worker` turns it off and `--worker`
turns it on against a configured database (FLEXUNION_JOBS_IN_PROCESS=1/0 sets the default).
In Kubernetes the worker is a Deployment of its own (helm/flexunion).

`--workers N` (N > 1) serves from N processes on one socket (uvicorn's supervisor): this
process starts the database, migrates and loads the demo, then spawns the workers, each
with its own app and its own connection pools (see docs/operations.md, "Serving"). A stop
signal ends the workers first, then the database."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import TYPE_CHECKING

import click

from flexunion.cli._run import prepare
from flexunion.config import Settings, load_settings
from flexunion.db.runtime import Database, open_database, owner_session

if TYPE_CHECKING:
    import uvicorn
    from litestar import Litestar

    from flexunion.jobs.worker import Worker

# PostgreSQL connections one serving process may hold beyond its SQLAlchemy pool
# (size + overflow): the one-statement reader pool (max(2, size // 2)), and the geo
# registry's and card holders' pools (2 each) and LISTEN connections (1 each).
EXTRA_CONNECTIONS = 6
STARTUP_FAILURE = 3  # uvicorn's exit status of a worker whose start failed
log = logging.getLogger(__name__)


def connections_per_process(settings: Settings) -> int:
    """The most PostgreSQL connections one serving process opens."""
    pool = settings.pool
    return pool.size + pool.max_overflow + max(2, pool.size // 2) + EXTRA_CONNECTIONS


def worker_app() -> Litestar:
    """The app of one `serve --workers N` worker process (a uvicorn factory): the settings
    from the environment the supervisor passed on, logs as `flexunion serve` writes them."""
    from flexunion.app import create_app
    from flexunion.core import logs

    settings = load_settings()
    logs.configure(settings.log_level, quiet_setup=True)
    return create_app(settings)


async def load_demo_if_empty(settings: Settings) -> bool:
    from flexunion.federation import repository as tenants_repo
    from flexunion.provisioning.service import apply_directory

    if not settings.load_demo or settings.demo_dir is None:
        return False
    async with owner_session(settings) as session:
        if await tenants_repo.federation_ids(session):
            return False
        plan = await apply_directory(session, settings.demo_dir)
    click.echo(f"loaded demo federation from {settings.demo_dir}: {plan.summary()}", err=True)
    return True


def worker_wanted(settings: Settings, flag: bool | None, embedded: bool) -> bool:
    """--worker/--no-worker, else FLEXUNION_JOBS_IN_PROCESS, else: with the embedded database."""
    if flag is not None:
        return flag
    if settings.jobs.in_process is not None:
        return settings.jobs.in_process
    return embedded


@contextmanager
def worker_beside(settings: Settings, enabled: bool) -> Iterator[None]:
    """The job worker on its own event loop in a thread for as long as the block runs;
    stopped (running jobs finish) when it ends."""
    if not enabled:
        yield
        return
    from flexunion.jobs.worker import Worker

    started = threading.Event()
    held: dict[str, tuple[asyncio.AbstractEventLoop, Worker]] = {}

    async def main() -> None:
        worker = Worker(settings)
        held["worker"] = (asyncio.get_running_loop(), worker)
        started.set()
        await worker.run()

    def target() -> None:
        try:
            asyncio.run(main())
        except Exception:  # the API goes on; the log says why no jobs run
            log.exception("the in-process job worker stopped")
        finally:
            started.set()

    thread = threading.Thread(target=target, name="flexunion-jobs", daemon=True)
    thread.start()
    started.wait(30)
    if thread.is_alive():
        click.echo("job worker running in this process (--no-worker to turn it off)", err=True)
    try:
        yield
    finally:
        if "worker" in held:
            loop, worker = held["worker"]
            with suppress(RuntimeError):  # its loop has ended already (the worker failed)
                loop.call_soon_threadsafe(worker.stop)
        thread.join(timeout=30)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT asked the server to stop. A KeyboardInterrupt, so that asyncio and
    the libraries pass it through as they pass Ctrl-C."""


class _StopSignals:
    """SIGTERM/SIGINT mark a stop as asked for (and ask a serving uvicorn to exit); `check()`
    raises `Stopped` at the next step. A second signal raises at once."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.asked: str | None = None
        self.server: uvicorn.Server | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.asked is not None:
            raise Stopped(name)
        self.asked = name
        if self.server is not None:
            self.server.should_exit = True

    def check(self) -> None:
        if self.asked is not None:
            raise Stopped(self.asked)

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle) for sig in self.SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True,
              help="Serve only: no migrations, no demo (for pods that hold only the app's URL).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes on one socket, each with its own connection pools.")
@click.option("--worker/--no-worker", "job_worker", default=None,
              help="Run the job worker in this process (default: with the embedded database).")
def serve(host: str, port: int, no_migrate: bool, workers: int, job_worker: bool | None) -> None:
    """Run the service (embedded PostgreSQL when DATABASE_URL is unset)."""
    signals = _StopSignals()
    try:
        with signals.installed():
            _serve(host, port, no_migrate, signals, workers, job_worker)
    except Stopped as stopped:
        click.echo(f"flexunion stopped ({stopped})", err=True)


def _serve_workers(settings: Settings, host: str, port: int, workers: int,
                   signals: _StopSignals) -> None:
    """uvicorn's supervisor with `workers` processes of `worker_app()`. They read their
    settings from the environment, so the database this process settled on (the embedded
    server's app URL) goes there first."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if settings.app_database_url:
        os.environ["FLEXUNION_APP_DATABASE_URL"] = settings.app_database_url
    config = uvicorn.Config(
        "flexunion.cli.serve:worker_app", factory=True, host=host, port=port,
        workers=workers, log_config=None, proxy_headers=False, server_header=False)
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])

    def forward(signum: int, frame: FrameType | None) -> None:  # noted, then uvicorn's
        signals.asked = signals.asked or signal.Signals(signum).name
        supervisor.signal_queue.append(signum)

    for sig in _StopSignals.SIGNALS:
        signal.signal(sig, forward)
    click.echo(f"flexunion on http://{host}:{port} with {workers} worker processes, up to "
               f"{workers * connections_per_process(settings)} PostgreSQL connections "
               "(API docs: /schema)", err=True)
    supervisor.run()
    signals.check()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise SystemExit(3)  # a worker could not start (the app's lifespan failed)


def _serve(host: str, port: int, no_migrate: bool, signals: _StopSignals,
           workers: int = 1, job_worker: bool | None = None) -> None:
    import uvicorn

    from flexunion.app import create_app

    db: Database | None = None
    try:
        db = open_database(load_settings())
        signals.check()
        if not no_migrate:
            if not db.settings.database_url:
                raise click.ClickException(
                    "migrating needs the owner's DATABASE_URL; use --no-migrate to only serve")
            asyncio.run(prepare(db.settings))
            signals.check()
            asyncio.run(load_demo_if_empty(db.settings))
        beside = worker_beside(db.settings,
                               worker_wanted(db.settings, job_worker, db.server is not None))
        if workers > 1:
            with beside:
                _serve_workers(db.settings, host, port, workers, signals)
            return
        app = create_app(db.settings)
        signals.check()
        click.echo(f"flexunion on http://{host}:{port}  (API docs: /schema)", err=True)
        signals.server = server = uvicorn.Server(uvicorn.Config(
            app, host=host, port=port, log_config=None, proxy_headers=False,
            server_header=False))
        with beside:
            server.run()
        signals.check()
        if not server.started:  # as uvicorn.run: it could not bind, or the lifespan failed
            raise SystemExit(3)
    finally:
        if db is not None:
            db.stop()


COMMANDS = [serve]
