"""The audit log end to end: history recorded by real `monitor check` runs, exported to real zip
files, verified by `monitor verify` and by the bundle's own script, and tampered with."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit_history import (
    RSP_V2,
    copy_history,
    flip,
    record_history,
    rewrite_zip,
    run_monitor,
    watchlist,
)
from tests.pageserver import PageServer, Response

PERIOD = ("--since", "2000-01-01", "--until", "2100-01-01")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with watchlist.toml, monitor.db and snapshots/ (read only: copy to change)."""
    folder = tmp_path_factory.mktemp("audit") / "history"
    with PageServer() as server:
        record_history(folder, server)
    yield folder


@pytest.fixture(scope="module")
def bundle(history: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "evidence.zip"
    done = run_monitor(history, "export", *PERIOD, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def verify(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_monitor(folder, "verify", *args)


def _events(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as archive:
        return [json.loads(line) for line in archive.read("events.jsonl").splitlines()]


def _csv(path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as archive:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def test_the_live_store_and_its_export_verify_intact(history: Path, bundle: Path) -> None:
    live = verify(history)
    assert live.returncode == 0, live.stdout + live.stderr
    assert live.stdout.startswith("intact: ")
    done = verify(history, str(bundle))
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("intact: ")
    kinds = {event["kind"] for event in _events(bundle)}
    assert {"watchlist", "check", "snapshot", "version", "change", "delivery"} <= kinds
    assert "delivery_sent" in kinds
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = set(archive.namelist())
    assert manifest["counts"]["checks"] == 6
    assert manifest["watches"] == ["models", "rsp"]
    assert {"README.txt", "verify.py", "coverage.csv", "reviews.csv", "in-force.csv"} <= names
    assert any(n.startswith("watchlists/") for n in names)
    assert sum(n.startswith("versions/") for n in names) == 3
    coverage = _csv(bundle, "coverage.csv")
    checked = {r["watch"]: r for r in coverage if r["row"] == "checked"}
    assert checked["rsp"]["checks"] == "3" and checked["models"]["failures"] == "1"
    gaps = [r["note"] for r in coverage if r["watch"] == "rsp" and r["row"] == "unverified"]
    assert gaps[0].startswith("unverified 2000-01-01T00:00:00.000000Z–")
    assert gaps[-1].endswith("–2100-01-02T00:00:00.000000Z")
    reviews = _csv(bundle, "reviews.csv")
    assert [(r["reviewer"], r["verdict"], r["note"]) for r in reviews] == [
        ("dana", "acknowledged", "checked with legal")
    ]
    in_force = {r["watch"]: r for r in _csv(bundle, "in-force.csv")}
    assert in_force["rsp"]["version_seq"] == "2"


def test_the_same_period_twice_gives_byte_identical_bundles(
    history: Path, bundle: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.zip"
    assert run_monitor(history, "export", *PERIOD, "--out", str(again)).returncode == 0
    assert again.read_bytes() == bundle.read_bytes()


def test_a_history_exports_and_verifies_on_each_database(
    database_url: str, tmp_path: Path, page_server: PageServer
) -> None:
    folder = tmp_path / "history"
    record_history(folder, page_server)
    assert verify(folder).stdout.startswith("intact: ")
    first, again = tmp_path / "first.zip", tmp_path / "again.zip"
    for out in (first, again):
        done = run_monitor(folder, "export", *PERIOD, "--out", str(out))
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == again.read_bytes()
    done = verify(folder, str(first))
    assert done.returncode == 0 and done.stdout.startswith("intact: "), done.stdout
    with zipfile.ZipFile(first) as archive:
        assert json.loads(archive.read("manifest.json"))["counts"]["checks"] == 6
        (tmp_path / "verify.py").write_bytes(archive.read("verify.py"))
    own = [sys.executable, "-I", str(tmp_path / "verify.py"), str(first)]
    assert subprocess.run(own, capture_output=True, text=True).stdout.startswith("intact: ")
    broken = tmp_path / "broken.zip"
    rewrite_zip(first, broken, lambda n, data: flip(data, 40) if n == "events.jsonl" else data)
    assert verify(folder, str(broken)).returncode == 1


def _first(bundle: Path, prefix: str) -> str:
    with zipfile.ZipFile(bundle) as archive:
        return sorted(n for n in archive.namelist() if n.startswith(prefix))[0]


def _tampered(bundle: Path, tmp_path: Path, name: str, at: int) -> Path:
    out = tmp_path / "tampered.zip"
    rewrite_zip(bundle, out, lambda n, data: flip(data, at) if n == name else data)
    return out


@pytest.mark.parametrize("prefix", ["snapshots/", "versions/"])
def test_one_flipped_byte_in_a_body_is_named(
    history: Path, bundle: Path, tmp_path: Path, prefix: str
) -> None:
    name = _first(bundle, prefix)
    done = verify(history, str(_tampered(bundle, tmp_path, name, 30)))
    assert done.returncode == 1
    assert f"broken: {name}: hash does not match the manifest (file altered)" in done.stdout


def test_one_flipped_byte_in_an_event_line_names_the_event(
    history: Path, bundle: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(bundle) as archive:
        lines = archive.read("events.jsonl").splitlines(keepends=True)
    at = sum(len(line) for line in lines[:4]) + lines[4].index(b'"at":"2') + 9  # its year
    done = verify(history, str(_tampered(bundle, tmp_path, "events.jsonl", at)))
    assert done.returncode == 1
    out = done.stdout
    assert "event 5 (events.jsonl line 5): hash does not match its content (event altered)" in out
    assert "events.jsonl: hash does not match the manifest" in out


def test_one_flipped_byte_in_the_manifest_is_named(
    history: Path, bundle: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(bundle) as archive:
        at = archive.read("manifest.json").index(b'"since": "2000') + 10
    done = verify(history, str(_tampered(bundle, tmp_path, "manifest.json", at)))
    assert done.returncode == 1
    assert "manifest.json: does not match its own hash (manifest altered)" in done.stdout


def _with_events(bundle: Path, tmp_path: Path, reshape) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / "events.zip"

    def change(name: str, data: bytes) -> bytes:
        if name != "events.jsonl":
            return data
        return b"".join(reshape(data.splitlines(keepends=True)))

    rewrite_zip(bundle, out, change)
    return out


def test_a_deleted_event_is_found(history: Path, bundle: Path, tmp_path: Path) -> None:
    out = _with_events(bundle, tmp_path, lambda lines: lines[:3] + lines[4:])
    done = verify(history, str(out))
    assert done.returncode == 1
    assert "event 5 (events.jsonl line 4): expected event 4 here" in done.stdout
    assert "its prev_sha256 is not the previous event's hash" in done.stdout


def test_two_reordered_events_are_found(history: Path, bundle: Path, tmp_path: Path) -> None:
    out = _with_events(bundle, tmp_path, lambda ls: ls[:2] + [ls[3], ls[2]] + ls[4:])
    done = verify(history, str(out))
    assert done.returncode == 1
    assert "event 4 (events.jsonl line 3): expected event 3 here" in done.stdout
    assert "event 3 (events.jsonl line 4): expected event 5 here" in done.stdout


def test_an_entry_escaping_the_bundle_is_refused(
    history: Path, bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "slip.zip"
    rewrite_zip(bundle, out, lambda n, data: data, extra={"../../evil.sh": b"rm -rf ~"})
    done = verify(history, str(out))
    assert done.returncode == 2
    assert "unusable: ../../evil.sh: entry escapes the bundle's root; refused" in done.stdout


def test_a_bundle_inflating_past_the_limit_is_refused(history: Path, bundle: Path) -> None:
    done = verify(history, str(bundle), "--max-size", "5000")
    assert done.returncode == 2
    assert "inflates past the limit of 5000 bytes" in done.stdout


def test_not_a_zip_is_unusable(history: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    done = verify(history, str(junk))
    assert done.returncode == 2
    assert done.stdout.startswith("unusable: ")


def test_the_bundles_own_script_verifies_without_monitor(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        (tmp_path / "verify.py").write_bytes(archive.read("verify.py"))
        readme = archive.read("README.txt").decode("utf-8")
    assert "python3 verify.py" in readme and "sha256sum" in readme
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = [sys.executable, "-I", str(tmp_path / "verify.py")]  # -I: no monitor on the path
    done = subprocess.run([*command, str(bundle)], cwd=elsewhere, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("intact: ")
    name = _first(bundle, "snapshots/")
    broken = _tampered(bundle, tmp_path, name, 3)
    done = subprocess.run([*command, str(broken)], cwd=elsewhere, capture_output=True, text=True)
    assert done.returncode == 1
    assert name in done.stdout


def test_a_signed_bundle_verifies_with_its_key_only(history: Path, tmp_path: Path) -> None:
    work = copy_history(history, tmp_path / "h")
    assert run_monitor(work, "keys", "new", "--out", str(tmp_path / "ours")).returncode == 0
    assert run_monitor(work, "keys", "new", "--out", str(tmp_path / "theirs")).returncode == 0
    assert (tmp_path / "ours.key").stat().st_mode & 0o077 == 0
    signed = tmp_path / "signed.zip"
    made = run_monitor(
        work, "export", *PERIOD, "--sign", str(tmp_path / "ours.key"), "--out", str(signed)
    )
    assert made.returncode == 0, made.stderr
    assert verify(work, str(signed), "--key", str(tmp_path / "ours.pub")).returncode == 0
    wrong = verify(work, str(signed), "--key", str(tmp_path / "theirs.pub"))
    assert wrong.returncode == 1
    assert "manifest.sig: not a signature of manifest.json by theirs.pub" in wrong.stdout
    unsigned = tmp_path / "unsigned.zip"
    assert run_monitor(work, "export", *PERIOD, "--out", str(unsigned)).returncode == 0
    missing = verify(work, str(unsigned), "--key", str(tmp_path / "ours.pub"))
    assert missing.returncode == 1 and "the bundle is not signed" in missing.stdout
    bad_key = run_monitor(
        work,
        "export",
        *PERIOD,
        "--sign",
        str(tmp_path / "ours.pub"),
        "--out",
        str(tmp_path / "x.zip"),
    )
    assert bad_key.returncode == 1
    assert bad_key.stderr.count("\n") == 1 and "ours.pub" in bad_key.stderr
    assert not (tmp_path / "x.zip").exists()


def test_live_verify_names_altered_and_deleted_rows_and_bodies(
    history: Path, tmp_path: Path
) -> None:
    work = copy_history(history, tmp_path / "h")
    with sqlite3.connect(work / "monitor.db") as db:
        db.execute("UPDATE \"check\" SET outcome = 'unchanged' WHERE id = 2")
        db.execute('DELETE FROM "check" WHERE id = 3')
        text_sha = db.execute("SELECT text_sha256 FROM version WHERE id = 1").fetchone()[0]
    (work / "snapshots" / text_sha[:2] / f"{text_sha}.gz").unlink()
    done = verify(work)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("broken: check 2: outcome differ from event") for line in lines)
    assert any("the check 3 it records is missing (row deleted)" in line for line in lines)
    assert any(line.startswith(f"broken: version text body {text_sha}: ") for line in lines)


def test_two_checks_at_once_keep_one_chain(tmp_path: Path, page_server: PageServer) -> None:
    folder = tmp_path / "h"
    record_history(folder, page_server)
    page_server.route("/rsp", lambda request: Response(body=RSP_V2 + b"<p>New.</p>", delay=0.3))
    command = [sys.executable, "-m", "monitor", "-w", str(folder / "watchlist.toml"), "check"]
    env = {"PYTHONPATH": str(Path(__file__).parent.parent)}
    import os

    procs = [
        subprocess.Popen(
            [*command, "--no-progress"], env={**os.environ, **env}, cwd=folder,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]  # fmt: skip
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    done = verify(folder)
    assert done.returncode == 0, done.stdout
    with sqlite3.connect(folder / "monitor.db") as db:
        seqs = [row[0] for row in db.execute("SELECT seq FROM audit_event ORDER BY seq")]
        checks = db.execute('SELECT count(*) FROM "check"').fetchone()[0]
    assert seqs == list(range(1, len(seqs) + 1))
    assert checks == 12


FIXTURE = Path(__file__).parent / "fixtures" / "audit-before-log"


def test_a_database_from_before_the_log_is_backfilled_once_and_verifies(
    tmp_path: Path, page_server: PageServer
) -> None:
    folder = tmp_path / "old"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("make.py"))
    (folder / "watchlist.toml").write_text(watchlist(page_server), encoding="utf-8")
    done = verify(folder)
    assert done.returncode == 0, done.stdout
    with sqlite3.connect(folder / "monitor.db") as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM audit_event ORDER BY seq")]
        at = [
            a
            for (a,) in db.execute(
                "SELECT at FROM audit_event WHERE seq < ? ORDER BY seq", (len(kinds),)
            )
        ]
        payload = json.loads(
            db.execute("SELECT payload FROM audit_event WHERE kind = 'backfill'").fetchone()[0]
        )
    assert kinds[-1] == "backfill" and kinds.count("backfill") == 1
    assert payload["rows"] == len(kinds) - 1 == 6 + 3 + 3 + 3 + 3 + 1
    assert at == sorted(at)  # the rows in time order
    assert {"check", "snapshot", "version", "change", "delivery_sent", "review"} <= set(kinds)
    page_server.route("/rsp", Response(body=RSP_V2))
    page_server.route("/models", Response(body=b"<main><h1>Models</h1><p>gpt-old</p></main>"))
    assert run_monitor(folder, "check", "--no-progress").returncode in (0, 1)
    assert verify(folder).returncode == 0
    with sqlite3.connect(folder / "monitor.db") as db:
        assert db.execute(
            "SELECT count(*) FROM audit_event WHERE kind = 'backfill'"
        ).fetchone() == (1,)
    out = tmp_path / "old.zip"
    assert run_monitor(folder, "export", *PERIOD, "--out", str(out)).returncode == 0
    assert verify(folder, str(out)).returncode == 0


def test_jsonl_csv_and_warc_exports(history: Path, tmp_path: Path) -> None:
    jsonl, table, warc = tmp_path / "e.jsonl", tmp_path / "e.csv", tmp_path / "e.warc.gz"
    for fmt, out in (("jsonl", jsonl), ("csv", table), ("warc", warc)):
        done = run_monitor(history, "export", *PERIOD, "--format", fmt, "--out", str(out))
        assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    events = [r for r in records if r["record"] == "event"]
    changes = [r for r in records if r["record"] == "change"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"version_bump", "fetch_problem", "page_restored"} <= {
        label for c in changes for label in c["labels"]
    }
    with table.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len([r for r in rows if r["sha256"]]) == len(events)  # and a row per check of a pass
    assert any(r["change_labels"] for r in rows if r["kind"] == "change")
    from warcio.archiveiterator import ArchiveIterator

    with warc.open("rb") as stream:
        responses = [
            (r.rec_headers.get_header("WARC-Target-URI"), r.http_headers, r.content_stream().read())
            for r in ArchiveIterator(stream)
            if r.rec_type == "response"
        ]
    assert len(responses) == 3
    assert any(
        h.get_header("X-Served-By") == "test" and b"Version 3.1" in body for _, h, body in responses
    )


def test_at_all_gives_every_watch_with_its_evidence(history: Path) -> None:
    done = run_monitor(history, "at", "2100-01-01", "--all", "--json")
    assert done.returncode == 0, done.stderr
    items = {item["watch"]: item for item in json.loads(done.stdout)}
    assert items["rsp"]["version_seq"] == 2 and items["models"]["version_seq"] == 1
    assert items["rsp"]["last_confirmed_at"] and items["rsp"]["snapshot_sha256"]
    early = run_monitor(history, "at", "2001-01-01", "--all")
    assert early.returncode == 0
    assert "no check saw the page" in early.stdout or "no version" in early.stdout


def test_bad_export_and_verify_arguments_end_in_one_line(history: Path, tmp_path: Path) -> None:
    missing = verify(history, str(tmp_path / "nope.zip"))
    assert missing.returncode == 2 and missing.stdout.startswith("unusable: ")
    unknown = run_monitor(
        history, "export", *PERIOD, "--watch", "nosuch", "--out", str(tmp_path / "x.zip")
    )
    assert unknown.returncode == 2 and "--watch nosuch" in unknown.stderr
    backwards = run_monitor(
        history,
        "export",
        "--since",
        "2026-02-01",
        "--until",
        "2026-01-01",
        "--out",
        str(tmp_path / "x.zip"),
    )
    assert backwards.returncode == 1 and backwards.stderr.count("\n") == 1
    baddate = run_monitor(
        history,
        "export",
        "--since",
        "yesterday",
        "--until",
        "2026-01-01",
        "--out",
        str(tmp_path / "x.zip"),
    )
    assert baddate.returncode == 1 and "bad date 'yesterday'" in baddate.stderr


def test_one_watch_and_an_empty_period_export_and_verify(history: Path, tmp_path: Path) -> None:
    one = tmp_path / "rsp.zip"
    done = run_monitor(history, "export", *PERIOD, "--watch", "rsp", "--out", str(one))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(one) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        versions = [n for n in archive.namelist() if n.startswith("versions/")]
    assert manifest["watches"] == ["rsp"] and len(versions) == 2
    assert {r["watch"] for r in _csv(one, "coverage.csv")} == {"rsp"}
    assert verify(history, str(one)).returncode == 0
    empty = tmp_path / "empty.zip"
    done = run_monitor(
        history, "export", "--since", "2001-01-01", "--until", "2001-01-31", "--out", str(empty)
    )
    assert done.returncode == 0, done.stderr
    assert "0 events" in done.stdout
    done = verify(history, str(empty))
    assert done.returncode == 0, done.stdout
