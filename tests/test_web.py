"""The web UI's HTTP surface against the real server (uvicorn on a free loopback port) over a
history recorded by real `monitor check` runs: every API route, access rules, CSRF, security
headers, and page text that must stay inert."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.diff import diff_texts
from monitor.store.db import open_engine
from monitor.store.reviewers import add_reviewer
from monitor.web.views import coverage, ignore_suggestion
from tests.databases import database_kinds, database_named, database_of_kind
from tests.pageserver import PageServer
from tests.webhistory import History, record_history, running_server

CSP = "default-src 'self'"


@pytest.fixture(scope="module", params=database_kinds())
def history_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The recorded history's database: SQLite beside the watchlist, and PostgreSQL as well
    when the tests have a server."""
    with database_of_kind(request.param) as url:
        yield url


@pytest.fixture(scope="module")
def history(history_database: str | None, tmp_path_factory: pytest.TempPathFactory) -> History:
    with database_named(history_database), PageServer() as pages:
        return record_history(tmp_path_factory.mktemp("web"), pages)


@pytest.fixture(autouse=True)
def _history_database_named(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test over the recorded history reads the history's database; any other test, the file
    beside its own watchlist."""
    wanted = "history" in request.fixturenames
    with database_named(request.getfixturevalue("history_database") if wanted else None):
        yield


@pytest.fixture(scope="module")
def token(history_database: str | None, history: History) -> str:
    with database_named(history_database):
        return add_reviewer(open_engine(load_config(history.watchlist).database_url), "bob")


@pytest.fixture(scope="module")
def base(history_database: str | None, history: History) -> Iterator[str]:
    with database_named(history_database), running_server(history.watchlist) as url:
        yield url


def sqlite_file(history: History) -> str:
    url = load_config(history.watchlist).database_url
    if not url.startswith("sqlite:///"):
        pytest.skip("reads the SQLite file itself")
    return url.removeprefix("sqlite:///")


@pytest.fixture
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, follow_redirects=False) as c:
        yield c


def _secure(response: httpx.Response) -> None:
    assert CSP in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def test_api_watches(client: httpx.Client) -> None:
    response = client.get("/api/watches")
    assert response.status_code == 200
    watches = {item["id"]: item for item in response.json()}
    assert set(watches) == {"usage-policy", "deprecations", "status"}
    assert watches["usage-policy"]["unreviewed"] >= 1
    assert watches["status"]["failures_in_row"] == 0
    assert watches["status"]["last_outcome"] == "unchanged"
    assert watches["status"]["coverage"]["succeeded"] >= 1
    assert watches["usage-policy"]["next_check_at"] > watches["usage-policy"]["last_check_at"]


def test_api_changes_with_filters(client: httpx.Client, history: History) -> None:
    response = client.get("/api/changes")
    everything = response.json()
    by_label = {label: c["id"] for c in everything for label in c["labels"]}
    assert len(everything) == 5  # two policy changes, a retirement, a fetch problem and its end
    assert by_label["model_retirement"] == history.retirement_change
    assert by_label["fetch_problem"] == history.problem_change and "page_restored" in by_label
    assert "link" not in response.headers  # one page holds them all
    first = everything[0]
    assert set(first) >= {
        "id",
        "watch",
        "detected_at",
        "labels",
        "severity",
        "summary",
        "facts",
        "review",
    }

    by_label = client.get("/api/changes", params={"label": "model_retirement"}).json()
    assert [c["id"] for c in by_label] == [history.retirement_change]
    by_watch = client.get("/api/changes", params={"watch": "usage-policy"}).json()
    assert sorted(c["id"] for c in by_watch) == history.policy_changes
    major = client.get("/api/changes", params={"severity": "major"}).json()
    assert all(c["severity"] == "major" for c in major) and major
    assert client.get("/api/changes", params={"severity": "critical"}).json() == []

    page = client.get("/api/changes", params={"watch": "usage-policy"}).json()
    newest = page[0]["id"]
    older = client.get("/api/changes", params={"before": newest}).json()
    assert newest not in [c["id"] for c in older] and len(older) == 2

    for params, word in (
        ({"severity": "huge"}, "severity"),
        ({"label": "nope"}, "label"),
        ({"review": "maybe"}, "review"),
        ({"watch": "unknown"}, "watch"),
        ({"before": "x"}, "before"),
    ):
        response = client.get("/api/changes", params=params)
        assert response.status_code == 400 and word in response.json()["error"]


def test_api_change_compare_and_models(client: httpx.Client, history: History) -> None:
    change_id = history.policy_changes[0]
    change = client.get(f"/api/changes/{change_id}").json()
    assert change["id"] == change_id and change["diff"]["hunks"] and change["findings"]
    assert change["deliveries"] == [
        {
            "channel": "console",
            "state": "sent",
            "attempts": 1,
            "sent_at": change["deliveries"][0]["sent_at"],
        }
    ]
    assert isinstance(change["reviews"], list)
    missing = client.get("/api/changes/999999")
    assert missing.status_code == 404 and missing.json() == {"error": "no change 999999"}
    _secure(missing)

    first, _, last = history.policy_versions
    compared = client.get("/api/compare", params={"from": first, "to": last}).json()
    assert compared["from"]["id"] == first and compared["to"]["id"] == last
    added = [line for hunk in compared["diff"]["hunks"] for line in hunk["added"]]
    assert any("17:45" in line for line in added) and any("3.1" in line for line in added)
    assert client.get("/api/compare", params={"from": first}).status_code == 400
    assert client.get("/api/compare", params={"from": first, "to": 999999}).status_code == 404
    other = client.get("/api/changes/" + str(history.retirement_change)).json()["to_version_id"]
    mixed = client.get("/api/compare", params={"from": first, "to": other})
    assert mixed.status_code == 400 and "one watch" in mixed.json()["error"]

    models = client.get("/api/models").json()
    assert [(m["model"], m["shutdown"], m["replacement"], m["source"]) for m in models] == [
        ("claude-3-sonnet-20240229", "2025-10-28", "claude-sonnet-4-5-20250929", "baseline"),
        (
            "claude-opus-4-1-20250805",
            "2027-03-05",
            "claude-opus-4-8",
            "change " + str(history.retirement_change),
        ),
    ]  # the first version's table seeds the registry; the later row comes from its change
    assert models[1]["source_change"] == history.retirement_change


def test_posting_a_review(client: httpx.Client, history: History, token: str) -> None:
    change_id = history.retirement_change
    url = f"/api/changes/{change_id}/reviews"
    body = {"verdict": "escalated", "note": "tell the platform team"}
    assert client.post(url, json=body).status_code == 401
    wrong = client.post(url, json=body, headers={"Authorization": "Bearer mrt_wrong"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    _secure(wrong)
    auth = {"Authorization": f"Bearer {token}"}
    bad = client.post(url, json={"verdict": "fine"}, headers=auth)
    assert bad.status_code == 400 and "verdict" in bad.json()["error"]
    assert client.post(url, content=b"not json", headers=auth).status_code == 400
    huge = client.post(url, content=b"[" * 100_000, headers=auth)
    assert huge.status_code == 413 and huge.json()["error"] == "the request body is over 64 KB"
    gone = client.post("/api/changes/999999/reviews", json=body, headers=auth)
    assert gone.status_code == 404

    created = client.post(url, json=body, headers=auth)
    assert created.status_code == 201
    review = created.json()
    assert (review["reviewer"], review["verdict"], review["note"]) == (
        "bob",
        "escalated",
        body["note"],
    )
    later = client.post(url, json={"verdict": "acknowledged"}, headers=auth).json()
    reviews = client.get(f"/api/changes/{change_id}").json()["reviews"]
    assert [r["id"] for r in reviews] == [review["id"], later["id"]]  # kept, newest last
    listed = client.get("/api/changes", params={"review": "acknowledged"}).json()
    assert change_id in [c["id"] for c in listed]
    assert listed[0]["review"] == {"verdict": "acknowledged", "reviewer": "bob"}
    unreviewed = client.get("/api/changes", params={"review": "unreviewed"}).json()
    assert change_id not in [c["id"] for c in unreviewed]


def test_sign_in_review_form_and_csrf(client: httpx.Client, history: History, token: str) -> None:
    change_id = history.policy_changes[1]
    form = client.get("/signin")
    assert form.status_code == 200
    _secure(form)
    no_csrf = client.post("/signin", data={"token": token})
    assert no_csrf.status_code == 403
    huge = client.post("/signin", content=b"token=" + b"x" * 100_000)
    assert huge.status_code == 413 and "over 64 KB" in huge.text
    csrf = _csrf(client.get("/signin").text)
    wrong = client.post("/signin", data={"token": "mrt_nobody", "csrf": csrf})
    assert wrong.status_code == 401 and "unknown or removed" in wrong.text
    evil = client.post("/signin", data={"token": token, "csrf": csrf, "next": "//evil.example/"})
    assert evil.status_code == 303 and evil.headers["location"] == "/"
    cookie = evil.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie

    page = client.get(f"/changes/{change_id}")
    assert "Signed in as <strong>bob</strong>" in page.text
    csrf = _csrf(page.text)
    review_url = f"/changes/{change_id}/reviews"
    forged = client.post(review_url, data={"verdict": "dismissed", "csrf": "forged"})
    assert forged.status_code == 403
    _secure(forged)
    api_forged = client.post(f"/api/changes/{change_id}/reviews", json={"verdict": "dismissed"})
    assert api_forged.status_code == 403  # a session cookie needs the X-CSRF-Token header
    posted = client.post(review_url, data={"verdict": "dismissed", "note": "clock", "csrf": csrf})
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/changes/{change_id}?reviewed=1#reviews"
    shown = client.get(f"/changes/{change_id}").text
    assert "dismissed</span> by <strong>bob</strong>" in shown

    signout = client.post("/signout", data={"csrf": _csrf(shown)})
    assert signout.status_code == 303
    anonymous = client.post(review_url, data={"verdict": "dismissed", "csrf": csrf})
    assert anonymous.status_code == 401
    assert f'name="next" value="/changes/{change_id}"' in anonymous.text  # back to the change


def test_reading_needs_a_token_unless_bound_to_loopback(history: History, token: str) -> None:
    with running_server(history.watchlist, as_if_bound_to="0.0.0.0") as base:
        for path in ("/", "/changes", "/api/watches", "/api/changes", "/feed.atom", "/models.ics"):
            response = httpx.get(base + path)
            assert response.status_code == 401, path
            _secure(response)
        assert "Reviewer token" in httpx.get(base + "/").text
        from_slack = httpx.get(base + "/changes/1").text  # SameSite=Strict held the cookie back
        assert (
            'value="/changes/1"' in from_slack
            and '<a href="/changes/1">open the page again' in from_slack
        )
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(base + "/api/watches", headers=auth).status_code == 200
        assert httpx.get(base + "/", headers=auth).status_code == 200
        assert httpx.get(base + "/static/style.css").status_code == 200
        assert httpx.get(base + "/signin").status_code == 200


def test_removed_reviewers_lose_access(history: History, capsys: Any) -> None:
    watchlist = str(history.watchlist)
    assert main(["-w", watchlist, "reviewers", "add", "carol"]) == 0
    carol = capsys.readouterr().out.strip()
    assert carol.startswith("mrt_")
    assert main(["-w", watchlist, "reviewers", "add", "carol"]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["-w", watchlist, "reviewers", "add", "bad name!"]) == 1
    assert main(["-w", watchlist, "reviewers", "list"]) == 0
    assert "carol" in capsys.readouterr().out
    assert main(["-w", watchlist, "reviewers", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "carol" in [item["name"] for item in listed] and "token" not in str(listed)
    with sqlite3.connect(sqlite_file(history)) as db:
        dumped = "\n".join(db.iterdump())
    assert carol not in dumped  # only its hash is stored

    with running_server(history.watchlist) as base:
        auth = {"Authorization": f"Bearer {carol}"}
        assert httpx.get(base + "/api/watches", headers=auth).status_code == 200
        assert main(["-w", watchlist, "reviewers", "remove", "carol"]) == 0
        assert httpx.get(base + "/api/watches", headers=auth).status_code == 401
    assert main(["-w", watchlist, "reviewers", "remove", "carol"]) == 1
    assert "no reviewer 'carol'" in capsys.readouterr().err


def test_every_response_is_locked_down(client: httpx.Client, history: History) -> None:
    change_id = history.policy_changes[0]
    paths = [
        "/", "/changes", "/changes?review=unreviewed", f"/changes/{change_id}", "/models",
        "/watches/usage-policy", "/watches/nope", f"/versions/{history.policy_versions[1]}",
        "/feed.atom", "/models.ics", "/static/style.css", "/nothing", "/api/nothing",
        f"/compare?from={history.policy_versions[0]}&to={history.policy_versions[1]}",
    ]  # fmt: skip
    for path in paths:
        _secure(client.get(path))
    assert client.get("/watches/nope").status_code == 404
    rebound = client.get("/api/watches", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400  # a page that rebinds its name to 127.0.0.1 reads nothing
    _secure(rebound)
    assert client.get("/api/watches", headers={"Host": "localhost:8080"}).status_code == 200
    assert client.get("/api/nothing").json() == {"error": "nothing at /api/nothing"}
    assert client.get("/changes?severity=huge").status_code == 400


def test_hostile_page_text_renders_inert(client: httpx.Client, history: History) -> None:
    change_id = history.policy_changes[0]
    page = client.get(f"/changes/{change_id}").text
    assert "<script>" not in page and "<script " not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;!channel&gt;" in page and "<!channel>" not in page
    assert 'href="javascript:' not in page.lower()

    version = history.policy_versions[1]
    raw = client.get(f"/versions/{version}/raw")
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in raw.headers["content-security-policy"]
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert "<script>document.title='pwned'</script>" in raw.text  # the bytes as captured
    text_page = client.get(f"/versions/{version}").text
    assert "<script>" not in text_page and "&lt;!channel&gt;" in text_page

    feed = client.get("/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    entries = ET.fromstring(feed.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 5
    filtered = client.get("/feed.atom", params={"label": "model_retirement"})
    links = [
        e.get("href")
        for e in ET.fromstring(filtered.content).iter("{http://www.w3.org/2005/Atom}link")
    ]
    expected = f"http://127.0.0.1:8080/changes/{history.retirement_change}"  # [defaults] base_url
    assert expected in links
    assert client.get("/models.ics").text.startswith("BEGIN:VCALENDAR")


def test_a_change_without_versions_or_diff(client: httpx.Client, history: History) -> None:
    page = client.get(f"/changes/{history.problem_change}")
    assert page.status_code == 200
    assert "This change has no text diff (fetch_problem)" in page.text
    assert "2 failed checks in a row" in page.text and "would have hidden" not in page.text
    change = client.get(f"/api/changes/{history.problem_change}").json()
    assert change["labels"] == ["fetch_problem"] and change["from_version_id"] is None
    timeline = client.get("/watches/status").text
    assert "2 failed checks: http_status (HTTP 503)" in timeline


def test_dismissing_offers_the_ignore_text_that_would_have_hidden_it(
    client: httpx.Client, history: History
) -> None:
    page = client.get(f"/changes/{history.policy_changes[1]}").text  # only "Last updated" moved
    assert "would have hidden the change" in page
    assert 'ignore_text = ["Last updated: .*"]' in page


def test_ignore_suggestion_is_checked_against_both_texts() -> None:
    old = "# Policy\nStay safe.\nLast updated: March 1, 2026\n"
    new = "# Policy\nStay safe.\nLast updated: April 2, 2026\n"
    assert ignore_suggestion(old, new, diff_texts(old, new)) == "Last updated: .*"
    old2, new2 = "# A\nx\n", "# A\nx\ny\n"
    assert ignore_suggestion(old2, new2, diff_texts(old2, new2)) == "^y$"
    same_start_old = "# A\nThe model is gpt-4o and it stays\n"
    same_start_new = "# A\nThe model is gpt-4o and it retires\n"
    pattern = ignore_suggestion(
        same_start_old, same_start_new, diff_texts(same_start_old, same_start_new)
    )
    assert pattern == "The model is gpt-4o and it .*"


def test_coverage_counts_scheduled_checks_and_lists_gaps(tmp_path: Path) -> None:
    from monitor.store.browse import check_spans
    from monitor.store.db import writing
    from monitor.store.tables import CheckRow, WatchRow

    engine = open_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    now = datetime(2026, 6, 30, tzinfo=UTC)
    start = now - timedelta(days=10)
    with writing(engine) as session:
        session.add(WatchRow(id="hourly", url="https://example.org", created_at=start))
        session.flush()
        for hour in range(240):  # hours 48 to 59 fail: an outage of half a day
            failed = 48 <= hour < 60
            session.add(
                CheckRow(
                    watch_id="hourly",
                    at=start + timedelta(hours=hour, minutes=1),
                    outcome="failed" if failed else "unchanged",
                )
            )
    found = coverage(
        check_spans(engine, now - timedelta(days=30), 7200).get("hourly"),
        period=3600,
        first_seen=start,
        now=now,
    )
    assert found is not None
    assert (found.expected, found.succeeded) == (240, 228)
    assert [(a - start, b - start) for a, b in found.gaps] == [
        (timedelta(hours=47, minutes=1), timedelta(hours=60, minutes=1))
    ]
    assert round(found.share, 3) == 0.95
    later = coverage(
        check_spans(engine, now - timedelta(days=30), 7200).get("hourly"),
        period=3600,
        first_seen=start,
        now=now + timedelta(hours=5),
    )
    assert later is not None and later.gaps[-1] == (
        start + timedelta(hours=239, minutes=1),
        now + timedelta(hours=5),
    )
    assert coverage(None, period=3600, first_seen=None, now=now) is None


def test_alerts_link_to_the_change_page_when_base_url_is_set(history: History) -> None:
    from monitor.alerts.payload import Message, alert_from, console_text, webhook_body
    from monitor.render_slack import change_message
    from monitor.store import queries

    config = load_config(history.watchlist)
    engine = open_engine(config.database_url)
    change = queries.change(engine, history.retirement_change)
    assert change is not None
    alert = alert_from(config, change, "https://example.org")
    expected = f"http://127.0.0.1:8080/changes/{history.retirement_change}"
    assert alert.change_url == expected
    blocks, _ = change_message(alert)
    assert f"<{expected}|review the change>" in str(blocks[-1])
    assert f'"change_url":"{expected}"' in webhook_body(Message("k", (alert,))).decode()
    assert f"review: {expected}" in console_text(Message("k", (alert,)))

    plain = config.model_copy(
        update={"defaults": config.defaults.model_copy(update={"base_url": None})}
    )
    unlinked = alert_from(plain, change, "https://example.org")
    assert unlinked.change_url is None
    assert "change_url" not in webhook_body(Message("k", (unlinked,))).decode()


def test_monitor_serve_prints_its_url_and_serves(history: History) -> None:
    import os
    import subprocess
    import sys

    from tests.webhistory import free_port

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONPATH"] = str(root)
    command = [sys.executable, "-m", "monitor", "-w", str(history.watchlist), "serve"]
    bad = subprocess.run([*command, "--port", "0"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "--port 0" in bad.stderr and "Traceback" not in bad.stderr
    with running_server(history.watchlist) as taken:
        port = taken.rsplit(":", 1)[1]
        busy = subprocess.run([*command, "--port", port], env=env, capture_output=True, text=True)
    assert busy.returncode == 1
    assert (
        busy.stderr
        == f"error: cannot listen on 127.0.0.1:{port}: Address already in use; check --host and --port\n"
    )

    for extra, expected in (([], 200), (["--require-token"], 401)):
        port = free_port()
        proc = subprocess.Popen(
            [*command, "--port", str(port), *extra], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert line.strip() == f"monitor: serving http://127.0.0.1:{port}/"
            response = httpx.get(f"http://127.0.0.1:{port}/api/watches", timeout=10)
            assert response.status_code == expected
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            assert proc.stderr is not None
            proc.stderr.close()
        assert proc.returncode == 0


def test_timeline_folds_runs_of_checks_and_pages_where_a_list_was_cut() -> None:
    from monitor.store.tables import ChangeRow, CheckRow
    from monitor.web.views import timeline_rows

    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    outcomes = ["unchanged"] * 3 + ["failed"] * 2 + ["changed"] + ["unchanged"] * 4
    checks = [
        CheckRow(watch_id="w", at=t0 + timedelta(hours=h), outcome=o)
        for h, o in enumerate(outcomes)
    ][::-1]  # newest first
    change = ChangeRow(id=1, watch_id="w", detected_at=t0 + timedelta(hours=5), monitor_version="t")
    rows, cutoff = timeline_rows(checks, [], [change], limit=50)
    assert cutoff is None
    assert [(r.kind, len(r.checks)) for r in rows] == [
        ("quiet", 4), ("change", 0), ("check", 1), ("gap", 2), ("quiet", 3)
    ]  # fmt: skip
    assert rows[0].since == t0 + timedelta(hours=6) and rows[0].at == t0 + timedelta(hours=9)

    rows, cutoff = timeline_rows(checks[:4], [], [change], limit=4)  # the checks list was cut
    assert cutoff == t0 + timedelta(hours=6)
    assert [r.kind for r in rows] == ["quiet"]  # the older change is on the next page


def test_change_lists_page_through_the_history(tmp_path: Path) -> None:
    from tests.slack_server import add_change, write_watchlist

    watchlist = write_watchlist(tmp_path, "")
    engine = open_engine(load_config(watchlist).database_url)
    start = datetime.now(UTC) - timedelta(days=1)
    made = [add_change(engine, (), at=start + timedelta(minutes=n)) for n in range(120)]
    with running_server(watchlist) as base, httpx.Client(base_url=base) as client:
        seen: list[int] = []
        url: str | None = "/api/changes?severity=major"
        while url:
            response = client.get(url)
            seen += [c["id"] for c in response.json()]
            link = response.headers.get("link")
            url = link[1 : link.index(">")] if link else None
            assert url is None or "severity=major" in url
        assert seen == made[::-1]  # newest first, every change once
        first = client.get("/changes").text
        older = re.search(r'href="\?before=(\d+)"', first)
        assert older and int(older.group(1)) == made[-50]
        assert f"/changes/{made[-51]}" in client.get(f"/changes?before={older.group(1)}").text


def test_reviews_keep_the_contract(history: History) -> None:
    from monitor.errors import MonitorError
    from monitor.store.reviews import add_review, reviews_for

    engine = open_engine(load_config(history.watchlist).database_url)
    change_id = history.policy_changes[0]
    with pytest.raises(ValueError, match="bad verdict 'ok'"):
        add_review(engine, change_id, "dana", "ok")
    with pytest.raises(MonitorError, match="no change 999999"):
        add_review(engine, 999999, "dana", "dismissed")
    at = datetime(2030, 1, 1, tzinfo=UTC)
    row = add_review(engine, change_id, "dana", "escalated", "legal must see this", at=at)
    assert row.id is not None and row.at == at
    assert reviews_for(engine, change_id)[-1].id == row.id
    assert reviews_for(engine, 999999) == []


def test_a_review_waiting_for_the_database_lock_holds_up_no_reader(
    history: History, token: str, base: str
) -> None:
    import threading

    database = sqlite_file(history)
    answers: list[int] = []
    lock = sqlite3.connect(database, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # as `monitor run` recording a check would
    try:
        writer = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{base}/api/changes/{history.retirement_change}/reviews",
                    json={"verdict": "acknowledged"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                ).status_code
            )
        )
        writer.start()
        time.sleep(0.5)
        assert httpx.get(f"{base}/api/watches", timeout=5).status_code == 200
        assert (
            httpx.get(f"{base}/changes/{history.retirement_change}", timeout=5).status_code == 200
        )
        assert writer.is_alive() and answers == []  # the write still waits for the lock
    finally:
        lock.rollback()
        lock.close()
    writer.join(timeout=30)
    assert answers == [201]
