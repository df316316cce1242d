"""The model lifecycle registry on a real SQLite file, its iCalendar export, and the `models` and
`eval` commands run through the real CLI against a real local server and database."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.calendar import fold, shutdown_calendar, uid
from monitor.cli import main
from monitor.store.db import open_engine, writing
from monitor.store.lifecycle import apply_facts, effective_status, events, models
from tests.pageserver import PageServer, Response

pytestmark = pytest.mark.usefixtures("database_url")
AT = datetime(2026, 4, 27, 18, 2, tzinfo=UTC)
CASES = Path(__file__).parent / "fixtures" / "classify"


@pytest.fixture
def engine(database_url: str) -> Any:
    return open_engine(database_url)


def apply(engine: Any, facts: list[dict[str, Any]], at: datetime = AT, watch: str = "w") -> None:
    with writing(engine) as session:
        apply_facts(session, facts=facts, change_id=None, watch_id=watch, provider=None, at=at)


def retirement(model: str, shutdown: str | None, **more: Any) -> dict[str, Any]:
    fact = {"kind": "retirement", "model": model, "provider": "openai", "surface": "api"}
    fact.update({"event": "deprecation_announced", "shutdown_date": shutdown, **more})
    return {k: v for k, v in fact.items() if v is not None}


def test_a_retirement_fact_makes_a_retiring_row_with_its_dates(engine: Any) -> None:
    apply(engine, [retirement("gpt-4o", "2026-06-12", surface="chatgpt", replacement="gpt-5.2")])
    (row,) = models(engine, today=AT.date())
    assert (row.provider, row.model, row.surface, row.status) == (
        "openai", "gpt-4o", "chatgpt", "retiring",
    )  # fmt: skip
    assert row.shutdown_on == date(2026, 6, 12) and row.announced_on == AT.date()
    assert row.replacement == "gpt-5.2" and row.watch_id == "w"
    assert [e.event for e in events(engine, "openai", "gpt-4o", "chatgpt")] == [
        "deprecation_announced"
    ]


def test_a_moved_date_updates_the_same_row_and_keeps_the_history(engine: Any) -> None:
    apply(engine, [retirement("gemini-3-pro-image-preview", "2026-07-19", provider="google")])
    later = AT + timedelta(days=1)
    moved = retirement(
        "gemini-3-pro-image-preview", "2026-07-17", provider="google",
        event="retirement_date_moved_earlier", previous="2026-07-19",
    )  # fmt: skip
    apply(engine, [moved], at=later)
    postponed = {
        "kind": "retirement_change", "model": "gemini-3-pro-image-preview", "provider": "google",
        "event": "retirement_date_postponed", "from": "2026-07-17", "to": "2026-08-01",
    }  # fmt: skip
    apply(engine, [postponed], at=later + timedelta(days=1))
    rows = models(engine, today=AT.date())
    assert len(rows) == 1 and rows[0].shutdown_on == date(2026, 8, 1)
    history = events(engine, "google", "gemini-3-pro-image-preview")
    assert [(e.event, e.previous_shutdown_on, e.shutdown_on) for e in history] == [
        ("deprecation_announced", None, date(2026, 7, 19)),
        ("date_moved", date(2026, 7, 19), date(2026, 7, 17)),
        ("date_moved", date(2026, 7, 17), date(2026, 8, 1)),
    ]


def test_withdrawn_date_and_retired_event_and_launch(engine: Any) -> None:
    apply(engine, [retirement("o1-preview", "2026-07-28")])
    withdrawn = {
        "kind": "retirement_change", "model": "o1-preview", "provider": "openai",
        "event": "retirement_date_withdrawn", "from": "2026-07-28",
    }  # fmt: skip
    apply(engine, [withdrawn])
    apply(engine, [retirement("gpt-4-0314", None, event="retired")])
    apply(engine, [{"kind": "launch", "model": "gpt-5.5", "provider": "openai"}])
    apply(engine, [{"kind": "launch", "model": "gpt-4-0314", "provider": "openai"}])  # listed again
    by_model = {row.model: row for row in models(engine, today=AT.date())}
    assert (
        by_model["o1-preview"].status == "deprecated" and by_model["o1-preview"].shutdown_on is None
    )
    assert by_model["gpt-4-0314"].status == "retired"  # a later listing does not revive it
    assert by_model["gpt-5.5"].status == "active"
    assert [e.event for e in events(engine, "openai", "gpt-4-0314")] == ["retired", "listed"]


def test_filters_upcoming_provider_status(engine: Any) -> None:
    today = AT.date()
    apply(engine, [
        retirement("soon", (today + timedelta(days=30)).isoformat()),
        retirement("edge", (today + timedelta(days=90)).isoformat()),
        retirement("later", (today + timedelta(days=200)).isoformat()),
        retirement("undated", None),
        retirement("claude-3-opus", (today + timedelta(days=10)).isoformat(), provider="anthropic"),
    ])  # fmt: skip
    assert [r.model for r in models(engine, upcoming_days=90, today=today)] == [
        "claude-3-opus", "soon", "edge",
    ]  # fmt: skip
    assert [r.model for r in models(engine, provider="anthropic", today=today)] == ["claude-3-opus"]
    assert [r.model for r in models(engine, status="deprecated", today=today)] == ["undated"]
    # once its date has passed, a retiring model reads as retired and is no longer upcoming
    later = today + timedelta(days=31)
    assert "soon" in [r.model for r in models(engine, status="retired", today=later)]
    assert "soon" not in [r.model for r in models(engine, upcoming_days=90, today=later)]
    row = next(r for r in models(engine, today=today) if r.model == "soon")
    assert effective_status(row, today) == "retiring"


def test_ics_is_rfc5545_crlf_folded_escaped_with_stable_uids(engine: Any) -> None:
    apply(engine, [
        retirement("gpt-4o", "2026-06-12", surface="chatgpt", replacement="gpt-5.2, gpt-5.2-mini"),
        retirement("claude-3-opus-20240229", "2026-01-05", provider="anthropic",
                   qualifier="not sooner than", replacement="claude-opus-4-1; or 4.5\\x"),
        retirement("undated", None),
    ])  # fmt: skip
    text = shutdown_calendar(models(engine, today=AT.date()))
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith(
        "END:VCALENDAR\r\n"
    )
    assert "\n" not in text.replace("\r\n", "")
    physical = text.split("\r\n")[:-1]
    assert all(len(line.encode()) <= 75 for line in physical)
    unfolded = text.replace("\r\n ", "")
    assert unfolded.count("BEGIN:VEVENT") == 2  # the undated row has no event
    assert "DTSTART;VALUE=DATE:20260612\r\nDTEND;VALUE=DATE:20260613" in unfolded
    assert "DTSTART;VALUE=DATE:20260105" in unfolded
    assert "Replacement: claude-opus-4-1\\; or 4.5\\\\x" in unfolded
    assert "Replacement: gpt-5.2\\, gpt-5.2-mini" in unfolded
    assert "Date: not sooner than 2026-01-05" in unfolded
    # events come out soonest first, and the same rows give the same bytes
    assert unfolded.index("20260105") < unfolded.index("20260612")
    assert shutdown_calendar(models(engine, today=AT.date())) == text
    uids = re.findall(r"UID:(\S+)", unfolded)
    assert len(set(uids)) == 2 and all(u.endswith("@monitor") for u in uids)
    (row,) = [r for r in models(engine, today=AT.date()) if r.model == "gpt-4o"]
    assert uid(row) in uids


def test_fold_never_splits_a_multibyte_character() -> None:
    line = "SUMMARY:" + "提供終了" * 30
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


DEPRECATIONS = """<html><body><main><h1>Model deprecations</h1>
<h2>Deprecation history</h2>
<table><tr><th>Retirement Date</th><th>Deprecated Model</th><th>Recommended Replacement</th></tr>
{rows}
<tr><td>October 28, 2025</td><td>claude-3-sonnet-20240229</td><td>claude-sonnet-4-5</td></tr>
</table></main></body></html>"""


def _row(day: date, model: str, replacement: str) -> str:
    when = f"{day:%B} {day.day}, {day.year}"
    return f"<tr><td>{when}</td><td>{model}</td><td>{replacement}</td></tr>"


def _watching(
    tmp_path: Path, page_server: PageServer, body: Callable[[], str], more: str = ""
) -> list[str]:
    """A lifecycle watch of a local deprecations page serving `body()` at each check; the CLI's
    watchlist arguments."""
    page_server.route("/deprecations", lambda request: Response(body=body().encode()))
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text(
        '[[watch]]\nid = "anthropic-deprecations"\n'
        f'url = "{page_server.url("/deprecations")}"\nkind = "lifecycle"\n{more}'
    )
    return ["--watchlist", str(watchlist)]


def test_models_command_after_real_checks(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(UTC).date()
    soon, later = today + timedelta(days=40), today + timedelta(days=300)
    body = DEPRECATIONS.format(rows="")
    w = _watching(tmp_path, page_server, lambda: body, 'provider = "anthropic"\n')
    assert main([*w, "check", "--no-progress"]) == 0
    rows = _row(soon, "claude-opus-4-1-20250805", "claude-opus-4-8")
    rows += _row(later, "claude-sonnet-4-20250514", "claude-sonnet-4-6")
    body = DEPRECATIONS.format(rows=rows)
    assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()

    assert main([*w, "models"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "provider", "model", "status", "announced", "shutdown", "replacement", "surface", "source",
    ]  # fmt: skip
    # the row the page listed before the first check was seeded from it, soonest date first
    assert table[1].split()[1:3] == ["claude-3-sonnet-20240229", "retired"]
    assert table[1].endswith("baseline")
    assert table[2].split()[:5] == [
        "anthropic",
        "claude-opus-4-1-20250805",
        "retiring",
        today.isoformat(),
        soon.isoformat(),
    ]
    assert "claude-opus-4-8" in table[2] and re.search(r"change \d+$", table[2])

    assert main([*w, "models", "--upcoming", "90d", "--json"]) == 0
    upcoming = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in upcoming] == ["claude-opus-4-1-20250805"]
    assert upcoming[0]["shutdown"] == soon.isoformat() and upcoming[0]["surface"] == "api"

    assert main([*w, "models", "--provider", "openai"]) == 0
    assert capsys.readouterr().out.strip() == "no models match"

    assert main([*w, "models", "--ics"]) == 0
    ics = capsys.readouterr().out
    assert ics.count("BEGIN:VEVENT") == 3 and f"DTSTART;VALUE=DATE:{soon:%Y%m%d}" in ics


def test_a_new_replacement_updates_the_models_row_after_real_checks(
    tmp_path: Path,
    page_server: PageServer,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
) -> None:
    """The page names another replacement for a retiring model: `monitor models` says the new
    one, and the row's history keeps the change; a replacement named for a model the registry
    never listed makes no row."""
    later = datetime.now(UTC).date() + timedelta(days=300)
    rows = _row(later, "claude-sonnet-4-20250514", "claude-sonnet-4-6")
    body = DEPRECATIONS.format(rows=rows)
    w = _watching(tmp_path, page_server, lambda: body, 'provider = "anthropic"\n')
    assert main([*w, "check", "--no-progress"]) == 0  # seeds the registry from the page
    body = DEPRECATIONS.format(rows=rows.replace("claude-sonnet-4-6", "claude-sonnet-4-7"))
    assert main([*w, "check", "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*w, "models", "--json"]) == 0
    by_model = {m["model"]: m for m in json.loads(capsys.readouterr().out)}
    assert by_model["claude-sonnet-4-20250514"]["replacement"] == "claude-sonnet-4-7"
    assert by_model["claude-sonnet-4-20250514"]["shutdown"] == later.isoformat()
    engine = open_engine(database_url)
    history = events(engine, "anthropic", "claude-sonnet-4-20250514", "api")
    assert [e.event for e in history] == ["baseline", "replacement_changed"]

    unknown = {"kind": "replacement_changed", "model": "acme-1", "to": "acme-2", "provider": "x"}
    apply(engine, [unknown])
    assert "acme-1" not in {row.model for row in models(engine, today=AT.date())}


def test_a_moved_or_made_firm_date_updates_the_row_the_retirement_made(
    tmp_path: Path,
    page_server: PageServer,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
) -> None:
    """A page's retirement date moves later (to a "No earlier than" date), then is made firm:
    each updates the one row of that model (no second row of an unknown provider), with the
    qualifier of the date it now holds."""
    today = datetime.now(UTC).date()
    first, later, firm = (today + timedelta(days=d) for d in (100, 200, 250))
    body = DEPRECATIONS.format(rows=_row(first, "claude-opus-4-1-20250805", "claude-opus-4-8"))
    w = _watching(tmp_path, page_server, lambda: body)

    def rows_of_model() -> list[dict[str, Any]]:
        capsys.readouterr()
        assert main([*w, "models", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        return [m for m in listed if m["model"] == "claude-opus-4-1-20250805"]

    assert main([*w, "check", "--no-progress"]) == 0
    not_before = _row(later, "claude-opus-4-1-20250805", "claude-opus-4-8").replace(
        "<td>", "<td>No earlier than ", 1
    )
    body = DEPRECATIONS.format(rows=not_before)
    assert main([*w, "check", "--no-progress"]) == 0
    [row] = rows_of_model()
    assert (row["provider"], row["shutdown"]) == ("anthropic", later.isoformat())
    assert row["qualifier"] == "no earlier than"
    body = DEPRECATIONS.format(rows=_row(firm, "claude-opus-4-1-20250805", "claude-opus-4-8"))
    assert main([*w, "check", "--no-progress"]) == 0
    [row] = rows_of_model()
    assert (row["shutdown"], row["qualifier"]) == (firm.isoformat(), None)


def test_models_rejects_a_bad_upcoming(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text("")
    assert main(["--watchlist", str(watchlist), "models", "--upcoming", "soon"]) == 2
    assert "--upcoming" in capsys.readouterr().err


def test_eval_command_scores_a_folder_and_fails_on_a_broken_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    for name in ("rsp-version-3-0-to-3-1.json", "noise-build-hash.json", "index-reorder-only.json"):
        shutil.copy(CASES / name, folder / name)
    assert main(["eval", str(folder)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"version_bump\s+1\.000\s+1\.000\s+1\s+0\s+0", out)
    assert "3 cases" in out

    assert main(["eval", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 3 and report["labels"]["noise"]["tp"] == 1

    (folder / "broken.json").write_text('{"expected": {}}')
    assert main(["eval", str(folder)]) == 1
    assert "ERROR broken" in capsys.readouterr().out
