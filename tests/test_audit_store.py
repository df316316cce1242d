"""The chain's hashing, reviews, and the writes that change a recorded row later (reclassify,
deliveries retried): each keeps `monitor verify` intact because it appends its own event."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.audit.chain import GENESIS, canonical, event_sha256, plain, without_floats
from monitor.audit.verify import verify_store
from monitor.errors import MonitorError
from monitor.models import Classification
from monitor.snapshots import SnapshotStore
from monitor.store import outbox
from monitor.store.audit_reads import events
from monitor.store.db import open_engine
from monitor.store.record import NewChange
from monitor.store.reviews import add_review, reviews_for
from monitor.store.rewrite import reclassify
from tests.audit_history import copy_history, record_history
from tests.pageserver import PageServer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit-store") / "history"
    with PageServer() as server:
        record_history(folder, server)
    return folder


@pytest.fixture
def store(recorded: Path, tmp_path: Path) -> tuple:  # type: ignore[type-arg]
    folder = copy_history(recorded, tmp_path / "h")
    return open_engine(f"sqlite:///{folder / 'monitor.db'}"), SnapshotStore(folder / "snapshots")


def test_canonical_json_is_sorted_compact_utf8_and_refuses_floats() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert canonical({"b": 1, "a": "é", "t": at}) == (
        '{"a":"é","b":1,"t":"2026-03-01T12:00:00.000000Z"}'.encode()
    )
    with pytest.raises(TypeError):
        plain({"score": 0.5})
    assert without_floats({"score": 0.1, "n": [2.5]}) == {"score": "0.1", "n": ["2.5"]}
    body = {"seq": 1, "kind": "check"}
    expected = hashlib.sha256(GENESIS.encode() + b'{"kind":"check","seq":1}').hexdigest()
    assert event_sha256(GENESIS, body) == expected


def test_reviews_are_recorded_with_their_event(store: tuple) -> None:  # type: ignore[type-arg]
    engine, bodies = store
    with pytest.raises(ValueError, match="bad verdict 'fine': use one of"):
        add_review(engine, 1, "dana", "fine")
    with pytest.raises(MonitorError) as unknown:
        add_review(engine, 999, "dana", "dismissed")
    assert str(unknown.value) == "no change 999; `monitor history` lists them"
    first = datetime(2026, 3, 2, tzinfo=UTC)
    add_review(engine, 2, "lee", "escalated", "ask the vendor", at=first + timedelta(hours=1))
    row = add_review(engine, 2, "dana", "dismissed", at=first)
    assert row.id is not None and row.note == ""
    assert [(r.reviewer, r.verdict) for r in reviews_for(engine, 2)] == [
        ("dana", "dismissed"),
        ("lee", "escalated"),
    ]
    assert reviews_for(engine, 999) == []
    last = list(events(engine))[-1]
    assert (last.kind, last.table, last.subject_id) == ("review", "review", str(row.id))
    assert json.loads(last.payload)["verdict"] == "dismissed"
    assert verify_store(engine, bodies).code == 0


def test_a_reclassified_change_appends_its_new_classification(store: tuple) -> None:  # type: ignore[type-arg]
    engine, bodies = store

    def recompute(change, old, new):  # type: ignore[no-untyped-def]
        classification = Classification(("policy_text",), "warning", "reworded", score=0.25)
        return NewChange(classification, dict(change.diff), 1, 1, ("Governance",), ())

    examined, updated = reclassify(engine, None, recompute, {})
    assert examined >= 1 and updated >= 1
    kinds = [e.kind for e in events(engine)]
    assert kinds.count("change_reclassified") == updated
    verdict = verify_store(engine, bodies)
    assert verdict.code == 0, verdict.breaks


def test_a_delivery_failed_and_queued_again_keeps_the_store_intact(store: tuple) -> None:  # type: ignore[type-arg]
    engine, bodies = store
    now = datetime.now(UTC)
    rows = outbox.deliveries(engine)
    ids = [d.id for d, _c in rows if d.id is not None][:1]
    with engine.begin() as conn:  # a delivery due again, as after a crash
        conn.exec_driver_sql(
            "UPDATE delivery SET state = 'pending', next_try_at = '2000-01-01 00:00:00' "
            f"WHERE id = {ids[0]}"
        )
    verdict = verify_store(engine, bodies)
    assert verdict.code == 1  # the sent delivery was rewritten behind the log's back
    assert f"delivery {ids[0]}: attempts, sent_at differ from event" in verdict.breaks[0]
    claimed = outbox.claim(engine, ids, now, timedelta(minutes=1))
    assert [c.id for c in claimed] == ids
    assert outbox.mark_failed(engine, ids, "channel gone", at=now) == 1
    assert outbox.retry_now(engine, now) >= 1
    kinds = [e.kind for e in events(engine)][-2:]
    assert kinds == ["delivery_failed", "delivery"]
    assert outbox.claim(engine, ids, now, timedelta(minutes=1))
    assert outbox.mark_sent(engine, ids, now, remote_id="r1") == 1
    verdict = verify_store(engine, bodies)
    assert verdict.code == 0, verdict.breaks
