"""HTTP servers under test: uvicorn (or granian, to compare) processes on loopback, started and
stopped by the bench."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.request import urlopen

SERVICE = "target_ledger.app:app_from_env"
BASELINE = "target_ledger.bench.baseline:app_from_env"


class Served(str):
    """A server's base URL, with the pid of its process (one worker: the app runs in it)."""

    pid: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uvicorn(app: str, env: dict[str, str], health: str, workers: int = 1) -> contextlib.AbstractContextManager[Served]:
    """Serve `app` (a factory) with uvicorn on a free loopback port; yield its base URL."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    # uvicorn closes a keep-alive connection idle for 5 s; the bench's clients sit idle while the
    # projections settle, and a request sent as the server closes it fails with a reset.
    command += ["--timeout-keep-alive", "120"]
    return _serving(command, port, env, health)


def granian(app: str, env: dict[str, str], health: str, workers: int = 1) -> contextlib.AbstractContextManager[Served]:
    """As uvicorn(), served by granian (ASGI, uvloop) instead: to compare servers on the same
    routes. Granian is no dependency of the service: install it to compare."""
    port = _free_port()
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--loop", "uvloop"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-ws"]
    command += ["--log-level", "warning", "--no-access-log", app]
    return _serving(command, port, env, health)


@contextlib.contextmanager
def _serving(command: list[str], port: int, env: dict[str, str], health: str) -> Iterator[Served]:
    process = subprocess.Popen(command, env={**os.environ, "TL_LOG_LEVEL": "WARNING", **env})  # no access lines
    base = Served(f"http://127.0.0.1:{port}")
    base.pid = process.pid
    try:
        _wait_until_up(process, base + health)
        yield base
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_up(process: subprocess.Popen, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering {url}")
        with contextlib.suppress(OSError), urlopen(url, timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {timeout} s")


@contextlib.contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A standalone projection worker (`target-ledger project`)."""
    process = subprocess.Popen([sys.executable, "-m", "target_ledger", "project"], env={**os.environ, **env})
    try:
        yield process
    finally:
        _stop(process)
