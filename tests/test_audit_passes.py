"""Unchanged checks recorded a pass at a time: one `check_pass` event commits to every check of
the pass. A history holding both kinds of check event verifies, live and exported; any edit to
one check (outcome, status, time, raw hash), its deletion or a check added behind monitor's back
breaks verification and is named, in the store and in the bundle."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.audit import standalone
from monitor.store.schema import AUDIT_EVENT
from monitor.store.schema import CHECK as CHECKS
from tests.audit_history import copy_history, record_history, rewrite_zip, run_monitor
from tests.pageserver import PageServer, Response

PERIOD = ("--since", "2000-01-01", "--until", "2100-01-01")


def _url(folder: Path) -> str:
    return os.environ.get("MONITOR_DATABASE_URL") or f"sqlite:///{folder / 'monitor.db'}"


def _passes(engine: sa.Engine) -> list[tuple[int, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(AUDIT_EVENT.c.seq, AUDIT_EVENT.c.payload)
            .where(AUDIT_EVENT.c.kind == standalone.PASS_KIND)
            .order_by(AUDIT_EVENT.c.seq)
        ).all()
    return [(int(seq), json.loads(payload)) for seq, payload in rows]


def _export(folder: Path, out: Path) -> Path:
    done = run_monitor(folder, "export", *PERIOD, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def _verify(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_monitor(folder, "verify", *args)


def _own_verify(bundle: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "verify.py"
    with zipfile.ZipFile(bundle) as archive:
        script.write_bytes(archive.read("verify.py"))
    return subprocess.run(
        [sys.executable, "-I", str(script), str(bundle)], capture_output=True, text=True
    )


def test_a_pass_payload_names_ranges_and_finds_each_altered_or_missing_check() -> None:
    records: list[dict[str, Any]] = [
        {"id": i, "watch": f"w{i}", "at": "2026-01-01T00:00:00.000000Z", "outcome": "unchanged"}
        for i in (3, 4, 5, 9, 10)  # ids of one pass need not be contiguous (PostgreSQL)
    ]
    payload = standalone.pass_payload(records)
    assert payload["checks"] == [[3, 5], [9, 10]] and payload["count"] == 5
    assert len(payload["tags"]) == 2 * standalone.TAG_BYTES * 5
    found: dict[int, dict[str, Any]] = {r["id"]: r for r in records}
    intact = standalone.check_pass(payload, found)
    assert intact.digest_ok and not (intact.missing or intact.altered or intact.added)
    edited = {**found, 4: {**found[4], "outcome": "changed"}}
    del edited[9]
    edited[11] = {**found[10], "id": 11}
    broken = standalone.check_pass(payload, edited)
    assert (broken.altered, broken.missing, broken.added) == ([4], [9], [11])
    assert not broken.digest_ok
    with pytest.raises(ValueError, match="count"):
        standalone.check_pass({**payload, "count": 6}, found)
    with pytest.raises(ValueError, match="tags"):
        standalone.check_pass({**payload, "tags": payload["tags"][:-8]}, found)


def test_each_edit_to_a_check_of_a_pass_is_named_live_and_in_the_bundle(
    database_url: str, tmp_path: Path, page_server: PageServer
) -> None:
    folder = tmp_path / "history"
    record_history(folder, page_server)
    engine = sa.create_engine(_url(folder), poolclass=sa.NullPool)
    [(seq, payload)] = _passes(engine)  # the third pass: rsp unchanged
    [check_id] = standalone.pass_ids(payload)
    with engine.connect() as conn:
        kinds = conn.execute(
            sa.select(AUDIT_EVENT.c.kind, AUDIT_EVENT.c.payload).where(
                AUDIT_EVENT.c.kind == "check"
            )
        ).all()
        original = conn.execute(sa.select(CHECKS).where(CHECKS.c.id == check_id)).one()
    # an unchanged check recorded with an event of its own (page_restored) beside the pass
    assert any(json.loads(p)["outcome"] == "unchanged" for _, p in kinds)
    assert original.outcome == "unchanged"

    live = _verify(folder)
    assert live.returncode == 0 and live.stdout.startswith("intact: "), live.stdout
    bundle = _export(folder, tmp_path / "intact.zip")
    with zipfile.ZipFile(bundle) as archive:
        lines = archive.read(standalone.CHECKS).splitlines()
        manifest = json.loads(archive.read("manifest.json"))
    assert [json.loads(line)["id"] for line in lines] == [check_id]
    assert json.loads(lines[0])["pass"] == seq
    assert manifest["counts"]["checks"] == 6
    assert _verify(folder, str(bundle)).stdout.startswith("intact: ")
    assert _own_verify(bundle, tmp_path).stdout.startswith("intact: ")

    edits = {
        "outcome": "changed",
        "status": 203,
        "at": original.at + timedelta(seconds=1),
        "raw_sha256": bytes(32),
    }
    named_live = f"check {check_id}: not the check event {seq} recorded"
    named_bundle = f"check {check_id} ({standalone.CHECKS} line 1): not the check event {seq}"
    for column, value in edits.items():
        with engine.begin() as conn:
            conn.execute(CHECKS.update().where(CHECKS.c.id == check_id).values({column: value}))
        live = _verify(folder)
        assert live.returncode == 1 and named_live in live.stdout, (column, live.stdout)
        altered = _export(folder, tmp_path / f"{column}.zip")
        offline = _verify(folder, str(altered))
        assert offline.returncode == 1 and named_bundle in offline.stdout, (column, offline.stdout)
        assert named_bundle in _own_verify(altered, tmp_path).stdout
        with engine.begin() as conn:
            conn.execute(
                CHECKS.update()
                .where(CHECKS.c.id == check_id)
                .values({column: getattr(original, column)})
            )
    assert _verify(folder).returncode == 0  # each value put back: intact again

    with engine.begin() as conn:
        conn.execute(CHECKS.delete().where(CHECKS.c.id == check_id))
    live = _verify(folder)
    assert live.returncode == 1, live.stdout
    assert f"the check {check_id} it records is missing (row deleted)" in live.stdout
    deleted = _export(folder, tmp_path / "deleted.zip")
    offline = _verify(folder, str(deleted))
    assert offline.returncode == 1
    assert f"check {check_id} is missing from {standalone.CHECKS} (check deleted)" in offline.stdout

    with engine.begin() as conn:
        conn.execute(CHECKS.insert().values({**original._asdict(), "id": check_id + 1000}))
    live = _verify(folder)
    assert f"check {check_id + 1000}: no audit event records it" in live.stdout
    engine.dispose()


@pytest.fixture(scope="module")
def sqlite_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("passes") / "history"
    with PageServer() as server:
        record_history(folder, server)
    yield folder


def _edit_checks(bundle: Path, out: Path, edit: Any, extra: dict[str, bytes] | None = None) -> Path:
    def change(name: str, data: bytes) -> bytes | None:
        return edit(data) if name == standalone.CHECKS else data

    rewrite_zip(bundle, out, change, extra)
    return out


def test_a_bundles_checks_edited_dropped_or_added_are_named(
    sqlite_history: Path, tmp_path: Path
) -> None:
    folder = copy_history(sqlite_history, tmp_path / "history")
    bundle = _export(folder, tmp_path / "evidence.zip")
    with zipfile.ZipFile(bundle) as archive:
        line = archive.read(standalone.CHECKS)
    check_id = json.loads(line)["id"]

    edited = _edit_checks(
        bundle, tmp_path / "edited.zip", lambda d: d.replace(b'"unchanged"', b'"changed"')
    )
    out = _verify(folder, str(edited)).stdout
    assert f"{standalone.CHECKS}: hash does not match the manifest (file altered)" in out
    assert f"check {check_id} ({standalone.CHECKS} line 1): not the check event" in out

    dropped = _edit_checks(bundle, tmp_path / "dropped.zip", lambda d: b"")
    out = _verify(folder, str(dropped)).stdout
    assert f"check {check_id} is missing from {standalone.CHECKS} (check deleted)" in out

    added_line = json.dumps({**json.loads(line), "id": check_id + 7}).encode()
    added = _edit_checks(bundle, tmp_path / "added.zip", lambda d: d + added_line + b"\n")
    out = _verify(folder, str(added)).stdout
    assert f"check {check_id + 7} ({standalone.CHECKS} line 2): not one of the checks" in out

    stray = dict(json.loads(line), **{"pass": 1})  # a line placed under another event
    moved = _edit_checks(bundle, tmp_path / "moved.zip", lambda d: json.dumps(stray).encode())
    out = _verify(folder, str(moved)).stdout
    assert f"check {check_id} is recorded by no check_pass event here (check added)" in out
    assert f"check {check_id} is missing from {standalone.CHECKS}" in out


def test_a_pass_killed_half_way_keeps_what_it_recorded_and_verifies(
    database_url: str, tmp_path: Path, page_server: PageServer
) -> None:
    """505 watches: the first 500 unchanged checks of the second pass are written as one batch;
    the last five pages stall, and the process is killed while it waits for them."""
    count, stalled = 505, range(500, 505)
    second_pass = False
    text = b"<p>" + b"A paragraph long enough to be a page of its own. " * 8 + b"</p>"

    def page(index: int) -> Any:
        def handle(request: Any) -> Response:
            delay = 30.0 if second_pass and index in stalled else 0.0
            return Response(body=b"<main><h1>Page %d</h1>%s</main>" % (index, text), delay=delay)

        return handle

    lines = ["[defaults]", 'timeout = "60s"', "retries = 0", "concurrency = 10", "per_host = 10"]
    for index in range(count):
        page_server.route(f"/p/{index}", page(index))
        lines += ["[[watch]]", f'id = "p{index}"', f'url = "{page_server.url(f"/p/{index}")}"']
    folder = tmp_path / "killed"
    folder.mkdir()
    (folder / "watchlist.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_monitor(folder, "check", "--no-progress", timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    engine = sa.create_engine(_url(folder), poolclass=sa.NullPool)
    second_pass = True
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    env.pop("MONITOR_SNAPSHOTS", None)
    command = [sys.executable, "-m", "monitor", "-w", str(folder / "watchlist.toml"), "check"]
    proc = subprocess.Popen(
        [*command, "--no-progress"], cwd=folder, env=env, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not _passes(engine) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, "the pass ended before it was killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    [(_, payload)] = _passes(engine)
    with engine.connect() as conn:
        checks = conn.execute(sa.select(sa.func.count()).select_from(CHECKS)).scalar_one()
    assert payload["count"] == 500 and checks == count + 500
    live = _verify(folder)
    assert live.returncode == 0 and live.stdout.startswith("intact: "), live.stdout
    engine.dispose()


def test_jsonl_and_csv_exports_list_each_check_of_a_pass(
    sqlite_history: Path, tmp_path: Path
) -> None:
    jsonl, table = tmp_path / "e.jsonl", tmp_path / "e.csv"
    for fmt, out in (("jsonl", jsonl), ("csv", table)):
        done = run_monitor(sqlite_history, "export", *PERIOD, "--format", fmt, "--out", str(out))
        assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    [pass_event] = [r for r in records if r.get("kind") == standalone.PASS_KIND]
    checks = [r for r in records if r["record"] == "check"]
    assert [c["id"] for c in checks] == standalone.pass_ids(pass_event["payload"])
    assert checks[0]["pass"] == pass_event["seq"] and checks[0]["outcome"] == "unchanged"
    assert records[records.index(pass_event) + 1] == checks[0]
    with table.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    [row] = [r for r in rows if r["kind"] == "check" and not r["sha256"]]
    assert row["seq"] == str(pass_event["seq"]) and row["subject_id"] == str(checks[0]["id"])
    assert json.loads(row["payload"])["raw_sha256"] == checks[0]["raw_sha256"]
