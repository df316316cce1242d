"""The whole exception tree of monitor.

    MonitorError
    ├── ConfigError        bad watchlist or settings: reported all at once, exit 2, before any fetch
    ├── WatchError         operational, per watch: recorded as the check's outcome, the run goes on
    │   ├── FetchError     .transient decides retry (timeouts, 5xx, 429, resets)
    │   ├── ExtractError   selector matched nothing, content empty or suspiciously short
    │   └── DeliveryError  the change stays recorded, the delivery is retried
    └── StoreError         data integrity at risk: stop

"Unchanged" is a return value, never an exception.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """The watchlist or settings are wrong. `problems` lists every mistake, one line each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class WatchError(MonitorError):
    """An operational failure of one watch: recorded, and the run goes on."""


class FetchError(WatchError):
    def __init__(self, message: str, *, transient: bool = False) -> None:
        self.transient = transient
        super().__init__(message)


class ExtractError(WatchError):
    """The selector matched nothing, or the content is empty."""


class DeliveryError(WatchError):
    """One delivery failed; the change stays recorded and the delivery is retried."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class StoreError(MonitorError):
    """Data integrity at risk: stop."""
