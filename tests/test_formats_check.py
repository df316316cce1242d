"""PDFs, feeds and JSON watched end to end: pages served on 127.0.0.1, the real `monitor check`
run twice as a process, the change read back from the SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.snapshots import SnapshotStore
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response
from tests.pdfmaker import policy_pdf

ROOT = Path(__file__).parent.parent
PDF = "application/pdf"
NEW_PARAGRAPH = "We now evaluate every frontier model monthly and publish each evaluation."


def watchlist(tmp_path: Path, server: PageServer, path: str, **keys: str) -> Path:
    lines = ["[defaults]", 'timeout = "5s"', "retries = 0", "", "[[watch]]", 'id = "w"']
    lines += [f'url = "{server.url(path)}"', *(f"{key} = {value}" for key, value in keys.items())]
    file = tmp_path / "watchlist.toml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file


def monitor(file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "monitor", "-w", str(file), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def check_twice(file: Path, server: PageServer, path: str, first: Response, second: Response):  # type: ignore[no-untyped-def]
    server.route(path, first)
    done = monitor(file, "check", "--no-progress")
    assert done.returncode == 0, done.stderr
    server.route(path, second)
    done = monitor(file, "check", "--no-progress")
    assert done.returncode == 0, done.stderr
    engine = open_engine(load_config(file).database_url)
    changes = queries.changes(engine, "w")
    assert len(changes) == 1, [c.summary for c in changes]
    return changes[0], engine


def test_a_new_pdf_version_is_a_version_bump_with_the_page_named(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(tmp_path, page_server, "/rsp.pdf", kind='"policy"')
    before = policy_pdf(version="3.0", pages=3)
    after = policy_pdf(version="3.1", effective="June 1, 2026", pages=3, changed={3: NEW_PARAGRAPH})
    change, engine = check_twice(
        file, page_server, "/rsp.pdf",
        Response(body=before, content_type=PDF), Response(body=after, content_type=PDF),
    )  # fmt: skip
    assert change.labels[:2] == ["version_bump", "policy_text"]
    assert {"kind": "version", "marker": "version", "from": "3.0", "to": "3.1",
            "effective_date": "2026-06-01"} in change.facts  # fmt: skip
    reasons = [f["reason"] for f in change.findings if f["label"] == "policy_text"]
    assert "text added in § Capability threshold 3 (Page 3)" in reasons
    assert change.sections == ["## Responsible Scaling Policy", "### 3. Capability threshold 3"]
    assert [len(v) for v in queries.versions(engine, "w")] == [2, 2]


def test_a_pdf_served_under_the_wrong_type_is_still_read_and_a_bad_one_is_a_failed_check(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(tmp_path, page_server, "/doc")
    body = policy_pdf(pages=1)
    page_server.route("/doc", Response(body=body, content_type="application/octet-stream"))
    assert monitor(file, "check", "--no-progress").returncode == 0
    page_server.route("/doc", Response(body=body[:2000], content_type=PDF))
    done = monitor(file, "check", "--no-progress")
    engine = open_engine(load_config(file).database_url)
    last = queries.checks(engine, "w")[0]
    assert last.outcome == "failed" and last.error and last.error.startswith("truncated PDF at")
    assert queries.counts(engine, "w") == (2, 1, 0)  # nothing recorded as a version
    assert "Traceback" not in done.stderr


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Research</title><link>{base}</link>
{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{base}{slug}</link><guid>{base}{slug}</guid>
<pubDate>{date}</pubDate><description>{title}, in brief.</description></item>
"""
POSTS = [
    ("Scaling monosemanticity", "monosemanticity", "Tue, 21 May 2024 10:00:00 GMT"),
    ("Alignment faking", "alignment-faking", "Wed, 18 Dec 2024 10:00:00 GMT"),
    ("Tracing thoughts", "tracing-thoughts", "Thu, 27 Mar 2025 10:00:00 GMT"),
]


def rss(base: str, posts: list[tuple[str, str, str]]) -> bytes:
    items = "".join(ITEM.format(title=t, slug=s, date=d, base=base) for t, s, d in posts)
    return RSS.format(base=base, items=items).encode()


def test_a_new_feed_item_is_a_new_entry_and_a_reorder_is_no_change(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(tmp_path, page_server, "/feed.xml", kind='"index"')
    base = page_server.url("/research/")
    feed = "application/rss+xml"
    change, engine = check_twice(
        file, page_server, "/feed.xml",
        Response(body=rss(base, POSTS[:2]), content_type=feed),
        Response(body=rss(base, [POSTS[2], POSTS[1], POSTS[0]]), content_type=feed),
    )  # fmt: skip
    assert change.labels == ["new_entry"]
    assert {"kind": "new_entry", "title": "Tracing thoughts",
            "url": f"{base}tracing-thoughts"} in change.facts  # fmt: skip
    page_server.route("/feed.xml", Response(body=rss(base, [POSTS[0], POSTS[2], POSTS[1]])))
    assert monitor(file, "check", "--no-progress").returncode == 0
    assert queries.counts(engine, "w") == (3, 2, 1)  # the reordered feed: no new version


def test_json_records_by_identity_report_the_retirement(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(
        tmp_path, page_server, "/deprecations.json", kind='"lifecycle"',
        id_fields='["provider", "model_id"]',
    )  # fmt: skip
    rows = [
        {"provider": "OpenAI", "model_id": "gpt-4o", "shutdown_date": "", "status": "active"},
        {"provider": "OpenAI", "model_id": "o1-mini", "shutdown_date": "", "status": "active"},
    ]
    later = [
        rows[1],
        {"provider": "OpenAI", "model_id": "gpt-4o", "shutdown_date": "2026-10-01",
         "status": "deprecated", "replacement": "gpt-5"},
    ]  # fmt: skip
    change, _engine = check_twice(
        file, page_server, "/deprecations.json",
        Response(body=json.dumps(rows).encode(), content_type="application/json"),
        Response(body=json.dumps(later).encode(), content_type="text/plain"),
    )  # fmt: skip
    assert "model_retirement" in change.labels
    retirement = next(f for f in change.facts if f["kind"] == "retirement")
    assert (retirement["model"], retirement["shutdown_date"]) == ("gpt-4o", "2026-10-01")
    assert change.lines_added == 1 and change.lines_removed == 1  # one record, one line


NOTICE = """<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>
<pubDate>{date}</pubDate><description><![CDATA[<p>Provider: Google<br>Model ID: {model}<br>
Announcement Date: {announced}</p><p>{words}</p>]]></description></item>
"""


def notices_feed(base: str, notices: list[dict[str, str]]) -> bytes:
    items = "".join(NOTICE.format(link=f"{base}#{n['guid']}", **n) for n in notices)
    return RSS.format(base=base, items=items).encode()


def test_a_feed_item_announcing_a_shutdown_in_its_words_is_a_retirement(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(tmp_path, page_server, "/deprecations.xml", kind='"lifecycle"')
    base = page_server.url("/changelog")
    old = {
        "title": "Google: Gemini 1.0 Pro",
        "guid": "google-gemini-1.0-pro",
        "date": "Mon, 03 Feb 2025 10:00:00 GMT",
        "model": "gemini-1.0-pro",
        "announced": "2025-02-03",
        "words": "Gemini 1.0 Pro has been shut down.",
    }
    new = {
        "title": "Google: Gemini 3 Pro Preview", "guid": "google-gemini-3-pro-preview",
        "date": "Fri, 27 Feb 2026 04:06:58 GMT", "model": "gemini-3-pro-preview",
        "announced": "2026-02-26",
        "words": "Deprecation announcement: Gemini 3 Pro Preview (gemini-3-pro-preview)\n"
        "will be shut down March 9, 2026. Migrate to a newer model.",
    }  # fmt: skip
    feed = "application/rss+xml"
    change, _engine = check_twice(
        file, page_server, "/deprecations.xml",
        Response(body=notices_feed(base, [old]), content_type=feed),
        Response(body=notices_feed(base, [new, old]), content_type=feed),
    )  # fmt: skip
    assert "model_retirement" in change.labels and "model_launch" not in change.labels
    retirement = next(f for f in change.facts if f["kind"] == "retirement")
    assert (retirement["model"], retirement["shutdown_date"]) == (
        "gemini-3-pro-preview",
        "2026-03-09",
    )
    assert change.lines_added == 1 and change.lines_removed == 0  # one new record line


@pytest.mark.parametrize(
    ("path", "body", "content_type", "error"),
    [
        ("/feed.xml", b"<!doctype html><html><body><p>Blog</p></body></html>",
         "application/rss+xml", "not a feed at"),
        ("/data.json", b'{"data": [1,', "application/json", "invalid JSON at"),
    ],
)  # fmt: skip
def test_bad_feed_and_json_are_failed_checks(
    tmp_path: Path, page_server: PageServer, path: str, body: bytes, content_type: str, error: str
) -> None:
    file = watchlist(tmp_path, page_server, path)
    page_server.route(path, Response(body=body, content_type=content_type))
    done = monitor(file, "check", "--no-progress")
    assert "Traceback" not in done.stderr
    engine = open_engine(load_config(file).database_url)
    last = queries.checks(engine, "w")[0]
    assert last.outcome == "failed" and last.error and last.error.startswith(error)
    assert queries.counts(engine, "w") == (1, 0, 0)


def policy_page(href: str) -> Response:
    body = f"""<!doctype html><html><body><main><h1>Responsible Scaling Policy</h1>
<p>Read the <a href="{href}">current policy (PDF)</a>.</p><p>Nonce {os.urandom(4).hex()}</p>
</main></body></html>"""
    return Response(body=body.encode())


def test_follow_watches_the_linked_pdf_and_a_new_link_target_is_a_change(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(tmp_path, page_server, "/rsp", kind='"policy"', follow="\"a[href$='.pdf']\"")
    document = policy_pdf(version="3.0", pages=2)
    page_server.route("/files/rsp-v3.0.pdf", Response(body=document, content_type=PDF))
    page_server.route("/files/rsp-v3.1.pdf", Response(body=document, content_type=PDF))
    change, engine = check_twice(
        file, page_server, "/rsp",
        policy_page("/files/rsp-v3.0.pdf"), policy_page("files/rsp-v3.1.pdf"),
    )  # fmt: skip
    # the same document behind a new link: the link line alone changed
    assert change.lines_added == 1 and change.lines_removed == 1
    hunk = change.diff["hunks"][0]
    assert hunk["removed"] == [f"Document: {page_server.url('/files/rsp-v3.0.pdf')}"]
    assert hunk["added"] == [f"Document: {page_server.url('/files/rsp-v3.1.pdf')}"]
    assert change.labels == ["policy_text"], change.summary
    reasons = [finding["reason"] for finding in change.findings]
    assert reasons == [
        f"the watch now points to {page_server.url('/files/rsp-v3.1.pdf')} "
        f"(was {page_server.url('/files/rsp-v3.0.pdf')})"
    ]
    version, snapshot = queries.versions(engine, "w")[-1]
    text = SnapshotStore(load_config(file).snapshots_dir).get_text(version.text_sha256)
    assert text.split("\n")[:3] == [
        f"Document: {page_server.url('/files/rsp-v3.1.pdf')}", "# Page 1",
        "## Responsible Scaling Policy",
    ]  # fmt: skip
    # the snapshot is the document's bytes, stored once for both links
    assert snapshot.content_type == PDF
    assert snapshot.requested_url == page_server.url("/files/rsp-v3.0.pdf")
    # and each version keeps the page it was linked from
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        rows = db.execute("SELECT requested_url, content_type FROM snapshot ORDER BY id").fetchall()
    assert rows == [
        (page_server.url("/files/rsp-v3.0.pdf"), PDF),
        (page_server.url("/rsp"), "text/html"),
        (page_server.url("/rsp"), "text/html"),
    ]

    page_server.route(
        "/rsp", Response(body=b"<html><body><main><p>Moved.</p></main></body></html>")
    )
    done = monitor(file, "check", "--no-progress")
    assert done.returncode == 1 and "matched no link" in done.stdout
    last = queries.checks(engine, "w")[0]
    assert last.outcome == "failed" and last.error_kind == "no_link"


def test_validate_fetch_says_which_reader_it_used_and_what_it_saw(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(tmp_path, page_server, "/rsp.pdf")
    page_server.route(
        "/rsp.pdf", Response(body=policy_pdf(pages=3), content_type="application/octet-stream")
    )
    done = monitor(file, "validate", "--fetch")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "read as pdf (from its first bytes; served as application/octet-stream; 4 pages, "
        "7 headings, 7 running header/footer lines removed)"
    ) in done.stdout


def test_validate_fetch_names_the_followed_document_and_the_feed_it_read(
    tmp_path: Path, page_server: PageServer
) -> None:
    file = watchlist(tmp_path, page_server, "/rsp", follow='"a.policy"')
    page = b'<main><a class="policy" href="/feeds/policy.xml">feed</a></main>'
    page_server.route("/rsp", Response(body=page))
    base = page_server.url("/research/")
    page_server.route("/feeds/policy.xml", Response(body=rss(base, POSTS), content_type=None))
    done = monitor(file, "validate", "--fetch")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "bytes of text, stable across two fetches; followed to "
        f"{page_server.url('/feeds/policy.xml')}, read as feed (from its first bytes; served "
        "without a Content-Type; RSS 2.0, 3 items keyed by guid or link)"
    ) in done.stdout
