"""Drive an HTTP endpoint from loopback with bounded concurrency, count and time; time each request."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import msgspec

from target_ledger.bench.measure import percentile


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class Load:
    """What a bounded run of requests achieved."""

    requests: int
    seconds: float
    latencies: list[float]  # seconds, one per request

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def p(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000  # milliseconds


class Client:
    """One aiohttp session per server: keep-alive connections, at most `concurrency` of them."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base, self.headers = base, {"Content-Type": "application/json", **(headers or {})}

    async def __aenter__(self) -> "Client":
        self.session = aiohttp.ClientSession(self.base, headers=self.headers)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.session.close()

    async def send(self, request: Request) -> tuple[int, bytes]:
        async with self.session.request(request.method, request.path, data=request.body) as response:
            return response.status, await response.read()

    async def json(self, method: str, path: str, body: bytes | None = None) -> object:
        status, content = await self.send(Request(method, path, body))
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {content[:500]!r}")
        return msgspec.json.decode(content)

    async def drive(
        self, make: Callable[[int], Request], *, count: int, concurrency: int, seconds: float, ok: int = 200
    ) -> Load:
        """Send `make(0)`, `make(1)`, ... from `concurrency` loops until `count` are done or time is up.
        Any answer other than `ok` stops the run: a figure of failing requests means nothing."""
        sent = 0
        latencies: list[float] = []
        started = time.perf_counter()
        deadline = started + seconds

        async def loop() -> None:
            nonlocal sent
            while sent < count and time.perf_counter() < deadline:
                request = make(sent)
                sent += 1
                begun = time.perf_counter()
                status, content = await self.send(request)
                latencies.append(time.perf_counter() - begun)
                if status != ok:
                    raise RuntimeError(f"{request.method} {request.path}: {status} {content[:500]!r}")

        await asyncio.gather(*(loop() for _ in range(concurrency)))
        return Load(len(latencies), time.perf_counter() - started, latencies)
