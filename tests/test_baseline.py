"""What a lifecycle page already lists when monitoring starts: the first check seeds the model
registry as `baseline` events, never alerted. A real local server, SQLite file and CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from monitor.cli import main
from monitor.config import load_config
from monitor.store.db import open_engine, reading
from monitor.store.lifecycle import events
from monitor.store.tables import ChangeRow, DeliveryRow
from tests.pageserver import PageServer, Response

PAGE = """<html><body><main><h1>Model deprecations</h1>
<p>We retire older models as newer ones replace them.</p>
<h2>Deprecation history</h2>
<table><tr><th>Retirement Date</th><th>Deprecated Model</th><th>Recommended Replacement</th></tr>
{rows}
</table></main></body></html>"""


def _row(day: date, model: str, replacement: str) -> str:
    return f"<tr><td>{day:%B} {day.day}, {day.year}</td><td>{model}</td><td>{replacement}</td></tr>"


def _watchlist(tmp_path: Path, server: PageServer, kind: str = "lifecycle") -> list[str]:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        '[channels.ops]\ntype = "console"\n\n'
        '[[watch]]\nid = "deprecations"\n'
        f'url = "{server.url("/deprecations")}"\n'
        f'kind = "{kind}"\nprovider = "anthropic"\n'
    )
    return ["--watchlist", str(path)]


def test_the_first_check_seeds_the_registry_from_what_the_page_lists(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(UTC).date()
    soon, later, past = today + timedelta(40), today + timedelta(300), today - timedelta(200)
    rows = _row(soon, "claude-opus-4-1-20250805", "claude-opus-4-8")
    rows += _row(later, "claude-sonnet-4-20250514", "claude-sonnet-4-6")
    rows += _row(past, "claude-3-sonnet-20240229", "claude-sonnet-4-5")
    page_server.route("/deprecations", lambda r: Response(body=PAGE.format(rows=rows).encode()))
    w = _watchlist(tmp_path, page_server)
    assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()

    assert main([*w, "models", "--upcoming", "90d", "--json"]) == 0
    upcoming = json.loads(capsys.readouterr().out)
    assert [(m["model"], m["shutdown"], m["source"]) for m in upcoming] == [
        ("claude-opus-4-1-20250805", soon.isoformat(), "baseline")
    ]
    assert upcoming[0]["announced"] is None  # listed before monitoring began: date not seen
    assert main([*w, "models"]) == 0
    table = capsys.readouterr().out.splitlines()
    by_model = {line.split()[1]: line for line in table[1:]}
    assert set(by_model) == {
        "claude-opus-4-1-20250805", "claude-sonnet-4-20250514", "claude-3-sonnet-20240229",
    }  # fmt: skip
    assert all(line.endswith("baseline") for line in by_model.values())
    assert by_model["claude-3-sonnet-20240229"].split()[2] == "retired"
    assert "claude-opus-4-8" in by_model["claude-opus-4-1-20250805"]

    engine = open_engine(load_config(Path(w[1])).database_url)
    with reading(engine) as session:
        assert session.exec(select(ChangeRow)).all() == []
        assert session.exec(select(DeliveryRow)).all() == []
    history = events(engine, "anthropic", "claude-opus-4-1-20250805")
    assert [(e.event, e.change_id) for e in history] == [("baseline", None)]


def test_a_later_change_takes_over_a_baseline_row(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(UTC).date()
    first, moved = today + timedelta(60), today + timedelta(30)
    body = [PAGE.format(rows=_row(first, "claude-opus-4-1-20250805", "claude-opus-4-8"))]
    page_server.route("/deprecations", lambda r: Response(body=body[0].encode()))
    w = _watchlist(tmp_path, page_server)
    assert main([*w, "check", "--no-progress"]) == 0
    body[0] = PAGE.format(rows=_row(moved, "claude-opus-4-1-20250805", "claude-opus-4-8"))
    assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*w, "models", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["shutdown"] == moved.isoformat() and row["source"].startswith("change ")
    engine = open_engine(load_config(Path(w[1])).database_url)
    history = events(engine, "anthropic", "claude-opus-4-1-20250805")
    assert [e.event for e in history] == ["baseline", "date_moved"]


def test_a_policy_page_seeds_nothing(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _row(datetime.now(UTC).date() + timedelta(40), "claude-opus-4-1-20250805", "x")
    page_server.route("/deprecations", lambda r: Response(body=PAGE.format(rows=rows).encode()))
    w = _watchlist(tmp_path, page_server, kind="policy")
    assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*w, "models"]) == 0
    assert capsys.readouterr().out.strip() == "no models recorded yet"


def test_a_json_feed_of_deprecations_seeds_every_record(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = datetime.now(UTC).date() + timedelta(30)
    records = [
        {"provider": "OpenAI", "model_name": "gpt-4o-realtime-preview", "status": "deprecated",
         "shutdown_date": soon.isoformat(), "replacement": "gpt-realtime"},
        {"provider": "OpenAI", "model_name": "gpt-4-32k-0613", "status": "retired",
         "shutdown_date": "2025-10-27", "replacement": "gpt-4o"},
    ]  # fmt: skip
    body = json.dumps(records, indent=2).encode()
    page_server.route(
        "/deprecations", lambda r: Response(body=body, content_type="application/json")
    )
    w = _watchlist(tmp_path, page_server)
    assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*w, "models", "--json"]) == 0
    rows = {row["model"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"gpt-4o-realtime-preview", "gpt-4-32k-0613"}
    assert rows["gpt-4o-realtime-preview"]["shutdown"] == soon.isoformat()
    assert rows["gpt-4o-realtime-preview"]["replacement"] == "gpt-realtime"
    assert rows["gpt-4-32k-0613"]["status"] == "retired"
    assert {row["source"] for row in rows.values()} == {"baseline"}


def test_a_row_dropped_for_a_while_and_listed_again_is_restored_not_announced(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page (or the scraper behind it) drops a row for a day and brings it back unchanged,
    while its "Last updated" line moves on: the row's return is a new entry, not a retirement
    announced again (the shape of quora-deprecation-schedule-md 045→046 in the shared corpus)."""
    today = datetime.now(UTC).date()
    kept = _row(today + timedelta(300), "claude-sonnet-4-20250514", "claude-sonnet-4-6")
    flapping = _row(today + timedelta(40), "claude-opus-4-1-20250805", "claude-opus-4-8")
    pages = [
        PAGE.format(rows=kept + flapping).replace("</h1>", "</h1><p>Last updated: day 1</p>"),
        PAGE.format(rows=kept).replace("</h1>", "</h1><p>Last updated: day 2</p>"),
        PAGE.format(rows=kept + flapping).replace("</h1>", "</h1><p>Last updated: day 3</p>"),
    ]
    page = {"body": pages[0]}
    page_server.route("/deprecations", lambda r: Response(body=page["body"].encode()))
    w = _watchlist(tmp_path, page_server)
    for body in pages:
        page["body"] = body
        assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*w, "history", "--json"]) == 0
    newest, dropped = json.loads(capsys.readouterr().out)[:2]
    assert "entry_removed" in dropped["labels"]
    assert "new_entry" in newest["labels"] and "model_retirement" not in newest["labels"]
    assert newest["severity"] != "critical"
    engine = open_engine(load_config(Path(w[1])).database_url)
    history = events(engine, "anthropic", "claude-opus-4-1-20250805")
    assert [e.event for e in history] == ["baseline"]  # not announced a second time


def test_a_json_record_dropped_for_a_while_and_listed_again_is_restored_not_announced(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON deprecation records lose a vendor's records for a version while other records
    change, then list them again unchanged (quora-deprecations-data 050→053 in the shared
    corpus): their return is a new entry, not retirements and launches announced again."""
    soon = (datetime.now(UTC).date() + timedelta(40)).isoformat()
    kept = {"provider": "OpenAI", "model_name": "gpt-5-2025-08-07", "status": "deprecated",
            "shutdown_date": "2026-12-11", "replacement": "gpt-5.5"}  # fmt: skip
    flapping = [
        {"provider": "Anthropic", "model_name": "claude-opus-4-1-20250805", "status": "deprecated",
         "shutdown_date": soon, "replacement": "claude-opus-4-8"},
        {"provider": "Anthropic", "model_name": "claude-sonnet-4-6", "status": "active",
         "shutdown_date": "2027-02-17", "replacement": ""},
    ]  # fmt: skip
    versions = [
        [kept, *flapping],
        [{**kept, "replacement": "gpt-5.6-sol"}],
        [{**kept, "replacement": "gpt-5.6-sol (pro)"}, *flapping],
    ]
    page = {"body": b""}
    page_server.route(
        "/deprecations", lambda r: Response(body=page["body"], content_type="application/json")
    )
    w = _watchlist(tmp_path, page_server)
    for records in versions:
        page["body"] = json.dumps(records, indent=2).encode()
        assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*w, "history", "--json"]) == 0
    newest, dropped = json.loads(capsys.readouterr().out)[:2]
    assert "entry_removed" in dropped["labels"]
    assert "new_entry" in newest["labels"]
    assert not {"model_retirement", "model_launch"} & set(newest["labels"])
    engine = open_engine(load_config(Path(w[1])).database_url)
    history = events(engine, "anthropic", "claude-opus-4-1-20250805")
    assert [e.event for e in history] == ["baseline"]  # not announced a second time
