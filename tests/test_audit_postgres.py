"""The chain on a real PostgreSQL server: processes appending at once keep one chain (the
append takes a transaction-level advisory lock before it reads the head)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.audit.verify import verify_store
from monitor.models import Classification, FetchResult
from monitor.snapshots import SnapshotStore
from monitor.store import record
from monitor.store.audit_log import record_watchlist
from monitor.store.audit_reads import events, watchlist
from monitor.store.db import dispose_engines, open_engine
from monitor.store.state import load_state

ROOT = Path(__file__).parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a Unix socket, for this module only."""
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl)")
    folder = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"

    def run(*command: str) -> None:
        subprocess.run([*as_owner, *command], check=True, capture_output=True, timeout=120)

    run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    options = f"-p {port} -k {folder} -c listen_addresses=''"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={folder}&port={port}"
    finally:
        dispose_engines()
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _version(engine, bodies: SnapshotStore, text: str, change: record.NewChange | None) -> None:  # type: ignore[no-untyped-def]
    raw = f"<main>{text}</main>".encode()
    at = datetime.now(UTC)
    result = FetchResult("https://example.org/p", "https://example.org/p", at, 5, 200, raw)
    record.record_version(
        engine, "p", "https://example.org/p", result,
        raw_sha256=bodies.put(raw), text_sha256=bodies.put(text.encode()),
        text_size=len(text), rules_sha256="0" * 64,
        expected_latest=load_state(engine, "p").latest, change=change,
    )  # fmt: skip


APPENDER = """
import sys
from monitor.store.db import open_engine
from monitor.store.reviews import add_review
engine = open_engine(sys.argv[1])
for i in range(int(sys.argv[2])):
    add_review(engine, int(sys.argv[3]), "reviewer-" + sys.argv[4], "acknowledged", str(i))
"""


def test_processes_appending_at_once_keep_one_chain(postgres_url: str, tmp_path: Path) -> None:
    engine = open_engine(postgres_url)
    bodies = SnapshotStore(tmp_path / "snapshots")
    _version(engine, bodies, "Version 1.0", None)
    bump = Classification(("version_bump",), "warning", "1.0 → 2.0")
    _version(engine, bodies, "Version 2.0", record.NewChange(bump, {}, 1, 1, (), ()))
    change_id = next(e for e in events(engine) if e.kind == "change").subject_id
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", APPENDER, postgres_url, "30", change_id]
    procs = [
        subprocess.Popen([*command, str(n)], env=env, stderr=subprocess.PIPE) for n in range(4)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    seqs = [e.seq for e in events(engine)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sum(1 for e in events(engine) if e.kind == "review") == 120
    verdict = verify_store(engine, bodies)
    assert verdict.code == 0, verdict.breaks


def test_processes_starting_at_once_keep_one_copy_of_the_watchlist(postgres_url: str) -> None:
    """Dispatchers and workers started together each record the watchlist they loaded: the
    first to arrive stores its bytes, the others only add their event."""
    engine = open_engine(postgres_url)
    body = f'[[watch]]\nid = "a"\nurl = "https://example.org/{time.time_ns()}"\n'.encode()
    start = threading.Barrier(6)
    failures: list[BaseException] = []

    def load() -> None:
        start.wait()
        try:
            record_watchlist(engine, body, "watchlist.toml", 1, datetime.now(UTC))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    sha = hashlib.sha256(body).hexdigest()
    loaded = [e for e in events(engine) if e.kind == "watchlist" and e.subject_id == sha]
    assert len(loaded) == 6
    assert watchlist(engine, sha) == body
