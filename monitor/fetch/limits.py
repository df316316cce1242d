"""The per-host gate: how many requests may be in flight to one host, and how far apart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HostGate:
    """At most `limit` requests in flight to one host, and with `spacing`, each request sent at
    least `spacing` seconds after the previous one to that host was answered (its headers came),
    so the host sees them that far apart whatever the network adds."""

    def __init__(self, limit: int, spacing: float) -> None:
        self.slots = asyncio.Semaphore(limit)
        self._spacing = spacing
        self._turn = asyncio.Lock()
        self._next_send = 0.0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold around sending one request and receiving its headers."""
        if self._spacing <= 0:
            yield
            return
        async with self._turn:
            wait = self._next_send - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._next_send = time.monotonic() + self._spacing
