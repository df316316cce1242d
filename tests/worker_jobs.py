"""Jobs the worker tests hand to a worker process, which imports this module to run them."""

from __future__ import annotations

import weakref


class _Cycle:
    """An object that refers to itself: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


_left: list[weakref.ref[_Cycle]] = []


def leave_cycles(count: int) -> int:
    """Make `count` objects in cycles and drop them, keeping only weak references."""
    _left.extend(weakref.ref(_Cycle()) for _ in range(count))
    return count


def cycles_alive() -> int:
    """How many of the objects `leave_cycles` made are still in memory."""
    return sum(1 for ref in _left if ref() is not None)
