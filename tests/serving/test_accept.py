"""A worker accepts one waiting connection per wake-up, so that the other workers get theirs
(`serving/accept.py`)."""

from __future__ import annotations

import asyncio
import socket

from creditgrade.serving.accept import one_connection_per_wakeup


def _pending(server: socket.socket) -> int:
    taken = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return taken
        conn.close()
        taken += 1


def test_one_wakeup_accepts_one_of_several_waiting_connections():
    one_connection_per_wakeup()
    loop = asyncio.SelectorEventLoop()
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    server.setblocking(False)
    clients = [socket.create_connection(server.getsockname()) for _ in range(3)]
    try:
        loop._accept_connection(asyncio.Protocol, server, backlog=2048)  # as asyncio calls it when woken
        loop.run_until_complete(asyncio.sleep(0.05))  # the accepted connection's transport is made
        assert _pending(server) == 2  # the other two left for another worker (2,048 would have taken all)
    finally:
        for c in clients:
            c.close()
        server.close()
        loop.close()
