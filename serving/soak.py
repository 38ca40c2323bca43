"""A soak of the running service: many clients, a mix of what regulators and planners ask, for a bounded time.

`soak()` drives a server on loopback with `clients` concurrent clients (asyncio + aiohttp, one connection
each), each taking the next call of a weighted mix — lookups, batch lookups, what-if explanations, history,
warnings, spot-check plans, objections filed and listed — for `seconds`, after a warm-up that is not counted.
It reports every answer that was not the expected status, the latency percentiles per endpoint, and the
resident memory of each server worker after the warm-up and at the end (`psutil`), so a leak shows as growth.
Used by the CI soak (`tests/serving/test_live.py`, one minute) and `make bench` (ten minutes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Call:
    """One request of the mix: `endpoint` names it in the report (a route template, never a USCC)."""

    endpoint: str
    method: str
    path: str
    body: dict | None
    headers: dict
    expect: int = 200


@dataclasses.dataclass
class SoakReport:
    seconds: float
    clients: int
    requests: int
    errors: dict[str, dict[str, int]]  # endpoint -> {status or exception: count}
    latency_ms: dict[str, dict[str, float]]  # endpoint -> {requests, p50, p99, max}
    memory_mb: dict[int, tuple[float, float]]  # worker pid -> (after warm-up, at the end)
    answers: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # endpoint -> first unexpected bodies

    @property
    def error_count(self) -> int:
        return sum(sum(e.values()) for e in self.errors.values())

    def memory_growth(self) -> float:
        """The largest relative growth of one worker's resident memory from the warm-up to the end."""
        return max(((end - warm) / warm for warm, end in self.memory_mb.values()), default=0.0)

    def lines(self) -> list[str]:
        out = [
            f"{self.requests} requests from {self.clients} clients in {self.seconds:.0f} s "
            f"({self.requests / max(self.seconds, 1e-9):.0f} req/s), errors {self.error_count}"
        ]
        for name, lat in sorted(self.latency_ms.items()):
            bad = self.errors.get(name)
            out.append(
                f"  {name:<24} {int(lat['requests']):>7} req  p50 {lat['p50']:7.1f} ms  p99 {lat['p99']:7.1f} ms  "
                f"max {lat['max']:7.1f} ms{'  errors ' + str(bad) if bad else ''}"
            )
        for name, bodies in sorted(self.answers.items()):
            out += [f"  {name} answered: {b}" for b in bodies]
        for pid, (warm, end) in sorted(self.memory_mb.items()):
            out.append(f"  worker {pid}: {warm:.0f} MB after warm-up, {end:.0f} MB at the end ({end / warm - 1:+.1%})")
        return out


def worker_memory(server_pid: int) -> dict[int, float]:
    """Resident memory (MB) of each of the server's workers (BentoML's `_bentoml_impl.worker` processes)."""
    import psutil

    found = {}
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if any("_bentoml_impl.worker" in part for part in child.cmdline()):
                found[child.pid] = child.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return found


async def _drive(
    base: str, mix: Sequence[Call | Iterator[Call]], clients: int, seconds: float
) -> tuple[dict, dict, int, dict]:
    import aiohttp

    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    answers: dict[str, list[str]] = defaultdict(list)  # the first few unexpected answers' bodies, to say why
    order = itertools.cycle(mix)
    stop = time.perf_counter() + seconds

    def take() -> Call:
        while True:
            entry = next(order)
            if isinstance(entry, Call):
                return entry
            once = next(entry, None)  # calls to send once each (an objection per record), while they last
            if once is not None:
                return once

    async def client(session) -> None:
        while time.perf_counter() < stop:
            call = take()
            start = time.perf_counter()
            try:
                async with session.request(call.method, base + call.path, json=call.body, headers=call.headers) as r:
                    body = await r.read()
                    if r.status != call.expect:
                        errors[call.endpoint][str(r.status)] += 1
                        if len(answers[call.endpoint]) < 3:
                            answers[call.endpoint].append(f"{r.status} {body[:300].decode(errors='replace')}")
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors[call.endpoint][type(exc).__name__] += 1
            latencies[call.endpoint].append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return latencies, errors, sum(len(v) for v in latencies.values()), answers


def soak(
    base: str,
    mix: Sequence[Call | Iterator[Call]],
    *,
    server_pid: int,
    clients: int = 64,
    seconds: float = 60,
    warmup: float = 10,
    warmup_mix: Sequence[Call | Iterator[Call]] | None = None,
) -> SoakReport:
    """Drive the server at `base` with `mix` (cycled) from `clients` clients: a warm-up, not counted, then
    `seconds` counted; workers' memory read after the warm-up and at the end. The warm-up is rounds of
    `warmup` seconds until no worker's memory grew by more than 2% in a round (at most six rounds): every
    worker has then loaded what the mix makes it load, and growth after that is growth under the same
    load. An iterator in `mix` gives calls that are each sent once (filing an objection against a record
    twice is rightly refused); `warmup_mix`, if given, is what the warm-up sends instead of `mix`."""
    warm = worker_memory(server_pid)
    for _ in range(6):
        asyncio.run(_drive(base, warmup_mix or mix, clients, warmup))
        before, warm = warm, worker_memory(server_pid)
        if warm and all(pid in before and warm[pid] <= before[pid] * 1.02 for pid in warm):
            break
    start = time.perf_counter()
    latencies, errors, count, answers = asyncio.run(_drive(base, mix, clients, seconds))
    took = time.perf_counter() - start
    end = worker_memory(server_pid)
    table = {}
    for name, seen in latencies.items():
        ms = np.asarray(seen) * 1000
        table[name] = {
            "requests": float(len(ms)),
            "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)),
            "max": float(ms.max()),
        }
    return SoakReport(
        seconds=took,
        clients=clients,
        requests=count,
        errors={k: dict(v) for k, v in errors.items() if v},
        latency_ms=table,
        memory_mb={pid: (warm[pid], end[pid]) for pid in warm if pid in end},
        answers=dict(answers),
    )
