"""Every store module that writes an audited row also appends to the audit log: a writer that
forgets would leave rows `monitor verify` reports as added outside monitor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STORE = Path(__file__).parent.parent / "monitor" / "store"
AUDITED = "CheckRow|SnapshotRow|VersionRow|ChangeRow|DeliveryRow|ReviewRow"
CORE = "CHECKS?|SNAPSHOTS?|VERSIONS?|CHANGES?|DELIVERY|_?DELIVERIES|REVIEWS?"  # store/schema.py
WRITES = re.compile(
    rf"\b(?:{AUDITED})\(|\b(?:update|insert)\((?:{AUDITED})\b|\b(?:{CORE})\.(?:insert|update)\("
)


def _writers() -> list[Path]:
    return sorted(
        path
        for path in STORE.glob("*.py")
        if path.name != "tables.py" and WRITES.search(path.read_text(encoding="utf-8"))
    )


def test_the_known_writers_are_found() -> None:
    names = {path.name for path in _writers()}
    assert {"record.py", "outbox.py", "reviews.py"} <= names


@pytest.mark.parametrize("path", _writers(), ids=lambda path: path.name)
def test_each_writer_of_audited_rows_appends_events(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "audit_log.append" in text, (
        f"{path.name} writes audited rows without appending their events (audit_log.append)"
    )
