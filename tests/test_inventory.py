"""The inventory: model ids found in code, matched to the registry by named identity rules, and
alerts routed to the teams whose models retire — against a real page server, a real SQLite file
and the Slack stand-in the real slack-sdk client posts to.

tests/fixtures/inventory/repo is a small hand-made code base: model ids in Python, TypeScript,
YAML, TOML, JSON and a .env file, plus a vendored node_modules file that must not be read."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.cli import main
from monitor.config import InventoryEntry, load_config
from monitor.inventory.exposure import due_reminder, exposures
from monitor.inventory.identity import match
from monitor.inventory.scan import scan
from tests.pageserver import PageServer, Response
from tests.slack_server import WEBHOOK_PATH, SlackServer
from tests.webhistory import running_server

REPO = Path(__file__).parent / "fixtures" / "inventory" / "repo"


@pytest.mark.parametrize(
    ("used", "registry", "rule"),
    [
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022", "exact"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307", "exact"),
        ("claude-3-opus@20240229", "claude-3-opus-20240229", "exact"),
        ("gpt-35-turbo:0613", "gpt-35-turbo-0613", "exact"),
        ("models/gemini-1.5-pro-002", "gemini-1.5-pro-002", "exact"),
        ("claude-3-5-haiku", "Claude 3.5 Haiku", "display_name"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku", "snapshot_of"),
        ("gpt-4o-2024-08-06", "gpt-4o", "snapshot_of"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku", "latest_pointer"),
    ],
)
def test_identity_rules_name_the_rule_that_matched(used: str, registry: str, rule: str) -> None:
    found = match(used, registry)
    assert found is not None and found.rule == rule


@pytest.mark.parametrize(
    ("used", "registry"),
    [
        ("gpt-4o", "gpt-4o-2024-05-13"),  # an alias with no known target is not a snapshot
        ("gpt-35-turbo-0125", "gpt-35-turbo-0613"),  # Azure: another version, another model
        ("gpt-4o-mini", "gpt-4o"),
        ("claude-3-5-haiku-20241022", "claude-3-5-sonnet"),
    ],
)
def test_identity_rules_do_not_match_other_models(used: str, registry: str) -> None:
    assert match(used, registry) is None


def test_an_alias_matches_only_the_snapshot_it_points_at() -> None:
    aliases = {"gpt-4o": "gpt-4o-2024-08-06"}
    assert match("gpt-4o", "gpt-4o-2024-05-13", aliases) is None
    hit = match("gpt-4o", "gpt-4o-2024-08-06", aliases)
    assert hit is not None and hit.rule == "alias" and "gpt-4o-2024-08-06" in hit.detail


def test_scan_finds_ids_in_every_language_and_skips_vendored_code() -> None:
    uses = {(u.model, u.where) for u in scan([REPO])}
    assert uses == {
        ("claude-3-5-haiku-20241022", "services/search/llm.py:3"),
        ("gpt-4o", "services/search/llm.py:4"),
        ("gemini-1.5-pro-002", "services/search/llm.py:8"),
        ("gpt-4o-2024-08-06", "web/src/chat.ts:2"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "web/src/chat.ts:3"),
        ("mistral-large-2407", "config/models.yaml:3"),
        ("gpt-35-turbo-0613", "config/deploy.toml:3"),
        ("claude-sonnet-4-5", "config/evals.json:1"),
        ("o3-mini", "config/evals.json:1"),
        ("gpt-4.1-mini", ".env.example:1"),
    }


def test_scan_finds_a_family_no_pattern_knows_once_the_registry_knows_it() -> None:
    assert "text-moderation-007" not in {u.model for u in scan([REPO])}
    found = {u.where for u in scan([REPO], known=["text-moderation-007"])}
    assert "config/models.yaml:6" in found


def test_reminders_are_due_once_each_and_never_stale() -> None:
    assert due_reminder(45, []) is None
    assert due_reminder(30, []) == 30
    assert due_reminder(12, [30]) is None
    assert due_reminder(5, []) == 7  # first seen 5 days out: the 7-day one, not a stale 30
    assert due_reminder(1, [30, 7]) == 1
    assert due_reminder(1, [30, 7, 1]) is None
    assert due_reminder(-1, []) is None


def test_exposure_of_a_fact_carries_team_files_rule_and_date() -> None:
    entry = InventoryEntry(
        team="search",
        models=("claude-3-5-haiku-20241022",),
        channels=("search-oncall",),
        used_in={"claude-3-5-haiku-20241022": ("services/search/llm.py:3",)},
    )
    facts = [
        {"kind": "retirement", "model": "claude-3-5-haiku", "shutdown_date": "2027-01-05"},
        {"kind": "retirement", "model": "gpt-4-0613", "shutdown_date": "2027-01-05"},
        {"kind": "version", "from": "1", "to": "2"},
    ]
    [found] = exposures([entry], {}, facts)
    assert found.fact() == {
        "kind": "exposure",
        "team": "search",
        "model": "claude-3-5-haiku-20241022",
        "matches": "claude-3-5-haiku",
        "rule": "snapshot_of",
        "shutdown_date": "2027-01-05",
        "used_in": "services/search/llm.py:3",
    }


# -- end to end: a deprecations page, a watchlist with an inventory, real checks ---------------

PAGE = """<html><body><main><h1>Model deprecations</h1>
<h2>Deprecation history</h2>
<table><tr><th>Retirement Date</th><th>Deprecated Model</th><th>Recommended Replacement</th></tr>
{rows}
<tr><td>October 28, 2025</td><td>claude-3-sonnet-20240229</td><td>claude-sonnet-4-5</td></tr>
</table></main></body></html>"""


def _row(day: date, model: str, replacement: str) -> str:
    return f"<tr><td>{day:%B} {day.day}, {day.year}</td><td>{model}</td><td>{replacement}</td></tr>"


def _watchlist(tmp_path: Path, url: str, inventory: str) -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        '[channels.everyone]\ntype = "console"\nmin_severity = "critical"\n'
        '[channels.search-oncall]\ntype = "slack"\nwebhook_url_env = "TEST_SEARCH_HOOK"\n'
        'min_severity = "critical"\nlabels = ["shutdown_reminder"]\n'
        f'[[watch]]\nid = "deprecations"\nurl = "{url}"\nkind = "lifecycle"\n'
        'provider = "anthropic"\nchannels = ["everyone"]\n' + inventory,
        encoding="utf-8",
    )
    return path


SEARCH_TEAM = """
[[inventory]]
team = "search"
models = ["claude-3-5-haiku-20241022", "gpt-4o"]
channels = ["search-oncall"]

[inventory.used_in]
"claude-3-5-haiku-20241022" = ["services/search/llm.py:3"]
"""


def _posts(slack: SlackServer) -> list[str]:
    return [json.dumps(hit.json()) for hit in slack.to(WEBHOOK_PATH)]


def test_a_retirement_of_an_inventory_model_pages_its_team_with_where_and_when(
    tmp_path: Path,
    page_server: PageServer,
    slack: SlackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEST_SEARCH_HOOK", slack.webhook_url)
    body = {"rows": ""}
    page_server.route("/dep", lambda r: Response(body=PAGE.format(**body).encode()))
    path = _watchlist(tmp_path, page_server.url("/dep"), SEARCH_TEAM)
    w = ["--watchlist", str(path)]
    assert main([*w, "check", "--no-progress"]) == 0

    shutdown = datetime.now(UTC).date() + timedelta(days=200)
    body["rows"] = _row(shutdown, "claude-3-5-haiku-20241022", "claude-haiku-4-5")
    assert main([*w, "check", "--no-progress"]) == 0
    [post] = _posts(slack)
    assert "search" in post and "services/search/llm.py:3" in post
    assert shutdown.isoformat() in post
    capsys.readouterr()

    assert main([*w, "history", "--json"]) == 0
    newest = json.loads(capsys.readouterr().out)[0]
    assert newest["severity"] == "critical"

    assert main([*w, "exposure", "--json"]) == 0
    report = {item["model"]: item for item in json.loads(capsys.readouterr().out)}
    assert report["claude-3-5-haiku-20241022"]["shutdown"] == shutdown.isoformat()
    assert report["claude-3-5-haiku-20241022"]["days_left"] == 200
    assert report["claude-3-5-haiku-20241022"]["rule"] == "exact"
    assert report["gpt-4o"]["status"] == "unknown"

    assert main([*w, "models", "--team", "search", "--ics"]) == 0
    ics = capsys.readouterr().out
    assert ics.count("BEGIN:VEVENT") == 1 and "claude-3-5-haiku-20241022" in ics
    assert main([*w, "models", "--team", "nobody"]) == 2
    assert "teams: search" in capsys.readouterr().err

    with running_server(path) as base:
        api = httpx.get(f"{base}/api/exposure?team=search").json()
        assert {item["model"]: item["days_left"] for item in api} == {
            "claude-3-5-haiku-20241022": 200,
            "gpt-4o": None,
        }
        assert httpx.get(f"{base}/api/exposure?team=nobody").status_code == 404
        page = httpx.get(f"{base}/models?team=search").text
        assert "What affects your teams" in page and "services/search/llm.py:3" in page
        ics = httpx.get(f"{base}/models.ics?team=search").text
        assert ics.count("BEGIN:VEVENT") == 1


def test_a_retirement_nobody_uses_pages_nobody(
    tmp_path: Path, page_server: PageServer, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SEARCH_HOOK", slack.webhook_url)
    body = {"rows": ""}
    page_server.route("/dep", lambda r: Response(body=PAGE.format(**body).encode()))
    path = _watchlist(tmp_path, page_server.url("/dep"), SEARCH_TEAM)
    w = ["--watchlist", str(path)]
    assert main([*w, "check", "--no-progress"]) == 0
    shutdown = datetime.now(UTC).date() + timedelta(days=200)
    body["rows"] = _row(shutdown, "claude-3-opus-20240229", "claude-opus-4-1")
    assert main([*w, "check", "--no-progress"]) == 0
    assert _posts(slack) == []


def test_shutdown_reminders_go_to_the_team_once_each(
    tmp_path: Path, page_server: PageServer, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.alerts import deliver_due
    from monitor.store.db import open_engine
    from monitor.store.reminders import enqueue_reminders

    monkeypatch.setenv("TEST_SEARCH_HOOK", slack.webhook_url)
    body = {"rows": ""}
    page_server.route("/dep", lambda r: Response(body=PAGE.format(**body).encode()))
    path = _watchlist(tmp_path, page_server.url("/dep"), SEARCH_TEAM)
    w = ["--watchlist", str(path)]
    assert main([*w, "check", "--no-progress"]) == 0
    today = datetime.now(UTC)
    shutdown = today.date() + timedelta(days=40)
    body["rows"] = _row(shutdown, "claude-3-5-haiku-20241022", "claude-haiku-4-5")
    assert main([*w, "check", "--no-progress"]) == 0
    assert len(_posts(slack)) == 1  # the retirement itself; 40 days out, no reminder yet

    config = load_config(path)
    engine = open_engine(config.database_url)
    written = []
    for days_left in (31, 30, 29, 8, 7, 6, 1, 1, 0):
        now = today + timedelta(days=40 - days_left)
        written.append(enqueue_reminders(engine, config, now=now))
        deliver_due(config, engine, now=now)
    assert written == [0, 1, 0, 0, 1, 0, 1, 0, 0]
    assert main([*w, "check", "--no-progress"]) == 0  # a check delivers what is due
    posts = _posts(slack)
    reminders = [p for p in posts if "shuts down" in p]
    assert len(reminders) == 3
    assert all("services/search/llm.py:3" in p and shutdown.isoformat() in p for p in reminders)


def test_scan_write_appends_a_reviewable_inventory_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "watchlist.toml"
    path.write_text('[[watch]]\nid = "a"\nurl = "https://example.org/a"\n', encoding="utf-8")
    w = ["--watchlist", str(path)]
    assert main([*w, "inventory", "scan", str(REPO), "--write"]) == 2
    assert "--team" in capsys.readouterr().err
    assert main([*w, "inventory", "scan", str(REPO), "--write", "--team", "search"]) == 0
    text = path.read_text(encoding="utf-8")
    assert "review before relying on it" in text
    [entry] = tomllib.loads(text)["inventory"]
    assert entry["team"] == "search" and "gpt-4o-2024-08-06" in entry["models"]
    assert entry["used_in"]["o3-mini"] == ["config/evals.json:1"]
    assert len(load_config(path).inventory) == 1
    assert main([*w, "inventory", "scan", str(REPO), "--write", "--team", "search"]) == 0
    assert path.read_text(encoding="utf-8") == text
    assert "nothing to add" in capsys.readouterr().err


def test_inventory_mistakes_are_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        '[[watch]]\nid = "a"\nurl = "https://example.org/a"\n'
        '[[inventory]]\nteam = "search"\nmodels = ["gpt-4o"]\nchannels = ["nowhere"]\nowner = "x"\n'
        "[aliases]\ngpt-4o = 4\n",
        encoding="utf-8",
    )
    assert main(["--watchlist", str(path), "validate"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert any("inventory 'search'" in line and "'owner'" in line for line in err)
    assert any("[aliases]" in line and "gpt-4o" in line for line in err)
    assert main(["--watchlist", str(path), "inventory", "scan", str(tmp_path / "missing")]) == 2
