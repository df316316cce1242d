"""FetchSettings: timeouts, size and redirect caps, retries and limits, from the watchlist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import Defaults


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str
    timeout: float  # seconds, for connect, each read, each write
    max_body: int  # bytes, after Content-Encoding is decoded
    max_redirects: int
    retries: int  # extra attempts after the first
    concurrency: int  # requests in flight, all hosts together
    per_host: int  # requests in flight to one host
    host_spacing: float = 0.0  # seconds from one answer of a host to the next request to it
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0

    @classmethod
    def from_defaults(cls, defaults: Defaults) -> FetchSettings:
        return cls(
            user_agent=defaults.user_agent,
            timeout=defaults.timeout,
            max_body=defaults.max_body,
            max_redirects=defaults.max_redirects,
            retries=defaults.retries,
            concurrency=defaults.concurrency,
            per_host=defaults.per_host,
            host_spacing=defaults.host_spacing,
        )
