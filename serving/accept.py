"""Connections spread over the service's worker processes: each worker accepts one connection at a time.

BentoML's workers share one listening socket. asyncio's event loop, woken by a waiting connection, accepts
as many as are queued, up to the listen backlog (2,048), so the worker that wakes first takes a whole burst
of new connections and keeps them (HTTP keep-alive). Seen with 32 clients connecting at once to 2 workers
(`benchmarks/history_lookup.py`, `ss -tnp` during the run): 29 connections on one worker, 3 on the other;
the first worker's clients waited on it while the second had time to spare. Accepting one connection per
wake-up lets the other worker, woken by the same readiness, take the next one; a busy worker comes back to
the socket later than an idle one, so connections go where there is time to serve them (nginx without
`multi_accept` does the same). The listen backlog itself is unchanged.

Applied when the service module is imported (in each worker, before uvicorn starts to serve). It patches
the standard asyncio loop, which is the one the service runs on (the project does not install uvloop).
"""

from __future__ import annotations

import asyncio.selector_events as selector_events
import functools

_accept = selector_events.BaseSelectorEventLoop._accept_connection


@functools.wraps(_accept)
def _accept_one(self, protocol_factory, sock, sslcontext=None, server=None, backlog=100, *args, **kwargs):
    return _accept(self, protocol_factory, sock, sslcontext, server, 1, *args, **kwargs)


def one_connection_per_wakeup() -> None:
    """Make every asyncio selector loop of this process accept one connection per wake-up (idempotent)."""
    selector_events.BaseSelectorEventLoop._accept_connection = _accept_one
