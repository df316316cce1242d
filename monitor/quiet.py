"""Quiet checks (unchanged, noise-only, 304) waiting to be written in one batch, and the state
a watch's next check starts from while one of its quiet checks waits.

The store's watch row still holds the state from before the waiting checks; `state_after` lays
the newest waiting check over it exactly as the batch's write will (monitor/store/record.py
`record_unchanged_many`), so the next request stays conditional on the newest validators."""

from __future__ import annotations

import time
from dataclasses import replace

from monitor.store.record import Unchanged
from monitor.store.state import WatchState


class QuietChecks:
    """The batch, in the order the checks ended, and each watch's newest waiting check."""

    def __init__(self) -> None:
        self._items: list[Unchanged] = []
        self._newest: dict[str, Unchanged] = {}
        self._since: float | None = None  # time.monotonic() when the oldest waiting check ended

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Unchanged) -> None:
        if self._since is None:
            self._since = time.monotonic()
        self._items.append(item)
        self._newest[item.watch_id] = item

    def waiting(self, watch_id: str) -> bool:
        return watch_id in self._newest

    def age(self) -> float:
        """Seconds the oldest waiting check has waited (0 when none waits)."""
        return 0.0 if self._since is None else time.monotonic() - self._since

    def take(self) -> list[Unchanged]:
        """Every waiting check, oldest first; the batch is empty after."""
        items = self._items
        self._items, self._newest, self._since = [], {}, None
        return items

    def state_after(self, watch_id: str, state: WatchState) -> WatchState:
        """`state` as the watch's newest waiting check leaves it once written."""
        item = self._newest.get(watch_id)
        if item is None:
            return state
        result = item.result
        keep = result.not_modified and not (result.etag or result.last_modified)
        return replace(
            state,
            etag=state.etag if keep else result.etag,
            last_modified=state.last_modified if keep else result.last_modified,
            last_raw_sha256=item.raw_sha256 or state.last_raw_sha256,
            last_rules_sha256=(
                state.last_rules_sha256 if item.raw_sha256 is None else item.rules_sha256
            ),
            needs_browser=(
                state.needs_browser if item.needs_browser is None else item.needs_browser
            ),
            failures_in_row=0,
            failure_alerted=False,
            gone=False,
        )
