"""Snapshot bodies: content-addressed, stored once, verified when read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.snapshots import SnapshotStore, sha256_hex


def test_a_body_is_stored_once_under_its_hash_and_read_back(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    body = b"<html><main>Version 3.1</main></html>" * 100
    digest = store.put(body)
    assert digest == sha256_hex(body)
    first = store.path_of(digest).read_bytes()
    assert store.put(body) == digest  # a second put writes nothing new
    assert store.path_of(digest).read_bytes() == first
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{digest}.gz"]
    assert store.get(digest) == body
    assert len(first) < len(body)  # compressed


def test_a_corrupted_or_missing_body_is_a_store_error(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    digest = store.put(b"the policy text")
    store.path_of(digest).write_bytes(gzip.compress(b"something else"))
    with pytest.raises(StoreError, match="does not match its hash"):
        store.get(digest)
    with pytest.raises(StoreError, match="missing"):
        store.get("0" * 64)


def test_text_round_trips_as_utf8(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    text = "GPT-4o の提供終了: 2026年4月27日"
    assert store.get_text(store.put(text.encode("utf-8"))) == text
