"""Snapshot bodies in an S3-compatible bucket (moto's server on 127.0.0.1): the same content
addressing as the folder, and a second machine on the same database reads what the first
recorded."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.errors import StoreError
from monitor.snapshots import open_bodies, sha256_hex
from monitor.snapshots.s3 import S3Bodies
from tests.pageserver import PageServer, Response
from tests.s3_server import S3Server


def bucket_of(url: str) -> str:
    return url.removeprefix("s3://").split("/")[0]


def test_a_body_is_stored_once_under_its_hash_and_read_back(
    s3_server: S3Server, s3_snapshots: str
) -> None:
    bodies = open_bodies(s3_snapshots)
    assert isinstance(bodies, S3Bodies)
    body = "<main>GPT-4o の提供終了: 2026年4月27日</main>".encode() * 50
    digest = bodies.put(body)
    assert digest == sha256_hex(body)
    assert bodies.put(body) == digest
    assert s3_server.keys(bucket_of(s3_snapshots)) == [f"bodies/{digest[:2]}/{digest}.gz"]
    stored = (
        s3_server.client()
        .get_object(Bucket=bucket_of(s3_snapshots), Key=f"bodies/{digest[:2]}/{digest}.gz")["Body"]
        .read()
    )
    assert gzip.decompress(stored) == body and len(stored) < len(body)
    assert bodies.get(digest) == body
    assert bodies.get_text(digest).startswith("<main>GPT-4o")


def test_a_corrupted_or_missing_body_is_a_store_error(
    s3_server: S3Server, s3_snapshots: str
) -> None:
    bodies = open_bodies(s3_snapshots)
    digest = bodies.put(b"the policy text")
    s3_server.client().put_object(
        Bucket=bucket_of(s3_snapshots),
        Key=f"bodies/{digest[:2]}/{digest}.gz",
        Body=gzip.compress(b"something else"),
    )
    with pytest.raises(StoreError, match="does not match its hash"):
        bodies.get(digest)
    with pytest.raises(StoreError, match="missing from s3://"):
        bodies.get("0" * 64)


def test_a_missing_bucket_is_one_line(s3_server: S3Server, s3_snapshots: str) -> None:
    bodies = open_bodies("s3://no-such-bucket/bodies")
    with pytest.raises(StoreError, match="cannot write snapshot body to s3://no-such-bucket"):
        bodies.put(b"x")
    with pytest.raises(StoreError, match="MONITOR_SNAPSHOTS=s3://: expected"):
        open_bodies("s3://")


POLICY = "<html><body><main><h1>Usage policy</h1><p>{}</p><p>{}</p></main></body></html>"
STEADY = "We review these rules every quarter of the year."


def test_two_machines_on_one_database_share_the_bodies(
    tmp_path: Path,
    page_server: PageServer,
    s3_server: S3Server,
    s3_snapshots: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each machine has its own folder; only the database and the bucket are shared."""
    monkeypatch.setenv("MONITOR_DATABASE_URL", database_url)
    one, two = (tmp_path / "one" / "watchlist.toml", tmp_path / "two" / "watchlist.toml")
    for path in (one, two):
        path.parent.mkdir()
        path.write_text(
            f'[defaults]\nretries = 0\n[[watch]]\nid = "policy"\nurl = "{page_server.url("/p")}"\n',
            encoding="utf-8",
        )
    page_server.route("/p", Response(body=POLICY.format("Version 1.0 applies.", STEADY).encode()))
    assert main(["-w", str(one), "check", "--no-progress"]) == 0
    page_server.route("/p", Response(body=POLICY.format("Version 2.0 applies.", STEADY).encode()))
    assert main(["-w", str(two), "check", "--no-progress"]) == 0  # diffs against one's body
    capsys.readouterr()
    assert main(["-w", str(one), "history", "--json"]) == 0
    [change] = json.loads(capsys.readouterr().out)
    assert "version_bump" in change["labels"]
    assert main(["-w", str(one), "versions", "policy", "--json"]) == 0
    newest = max(json.loads(capsys.readouterr().out), key=lambda v: v["id"])
    assert main(["-w", str(one), "cat", str(newest["id"])]) == 0  # recorded by two
    assert "Version 2.0 applies." in capsys.readouterr().out
    assert not (tmp_path / "one" / "snapshots").exists()
    assert not (tmp_path / "two" / "snapshots").exists()
    assert len(s3_server.keys(bucket_of(s3_snapshots))) == 4  # two raw snapshots, two texts


def test_a_bucket_without_the_library_names_the_extra(tmp_path: Path) -> None:
    import subprocess
    import sys

    hide_obstore = (
        "import sys; sys.modules['obstore'] = None; from monitor.cli import main; "
        "raise SystemExit(main(sys.argv[1:]))"
    )
    path = tmp_path / "watchlist.toml"
    path.write_text('[[watch]]\nid = "p"\nurl = "http://127.0.0.1:9/p"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", hide_obstore, "-w", str(path), "check", "--no-progress"],
        cwd=Path(__file__).parent.parent,
        env={"PATH": "/usr/bin:/bin", "MONITOR_SNAPSHOTS": "s3://bodies/team"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: MONITOR_SNAPSHOTS=s3://bodies/team needs the Python module 'obstore': "
        "pip install 'monitor[scale]'"
    ]
