"""Noise a page makes on every request, learnt per watch, and documents that really go back to
an earlier version: a real local server, a real SQLite file, the real stages."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlmodel import select

from monitor.classify import volatile
from monitor.diff import diff_texts
from monitor.store import queries
from monitor.store.db import open_engine, reading
from monitor.store.tables import ChangeRow, DeliveryRow
from monitor.store.volatile import volatile_lines
from tests.pageserver import PageServer, Response
from tests.test_pipeline import RSP_V1, RSP_V2, page, run, write_watchlist

WEBHOOK = '\n[channels.hook]\ntype = "console"\n'


def _footer(request_number: int) -> str:
    seconds = 7 + request_number
    request_id = f"{request_number * 2654435761 % 2**40:010x}"
    return f"<p>Rendered 10:42:{seconds:02d} · request {request_id}</p>"


def test_a_footer_that_changes_on_every_request_is_learnt_and_never_alerted_again(
    tmp_path: Path, page_server: PageServer
) -> None:
    requests = itertools.count(1)
    content = [RSP_V1]
    page_server.route(
        "/rsp", lambda request: Response(body=page(content[0] + _footer(next(requests))))
    )
    config = write_watchlist(tmp_path, page_server)
    outcomes = [run(config).outcome for _ in range(4)]
    # the second check sees the footer change once: not yet known, so it is a change
    assert outcomes == ["first", "changed", "noise", "noise"]
    engine = open_engine(config.database_url)
    (learnt,) = volatile_lines(engine, "rsp")
    assert learnt.shape == "Rendered \x00 · request \x00" and learnt.example.startswith("Rendered")

    content[0] = RSP_V2  # a real change, while the footer moves as always
    report = run(config)
    assert report.outcome == "changed" and report.labels == ("version_bump",)
    change = queries.change(engine, report.change_id or 0)
    assert change is not None
    assert all("Rendered" not in str(f["fragment"]) for f in change.findings)
    assert any("Rendered" in line for hunk in change.diff["hunks"] for line in hunk["added"])
    assert [c.outcome for c in queries.checks(engine, "rsp")][:3] == ["changed", "noise", "noise"]
    assert queries.counts(engine, "rsp") == (5, 3, 2)


def test_no_delivery_once_the_footer_is_learnt(tmp_path: Path, page_server: PageServer) -> None:
    requests = itertools.count(1)
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1 + _footer(next(requests)))))
    config = write_watchlist(tmp_path, page_server, WEBHOOK)
    for _ in range(5):
        run(config)
    with reading(open_engine(config.database_url)) as session:
        changes = session.exec(select(ChangeRow)).all()
        deliveries = session.exec(select(DeliveryRow)).all()
    assert len(changes) == 1  # the one check before the line was known to move
    assert {d.change_id for d in deliveries} == {changes[0].id}


def test_only_numbers_times_and_ids_are_volatile_never_data() -> None:
    assert volatile.learnable(
        "Rendered 10:42:07 · req 8f3a9c2e", "Rendered 10:43:11 · req 1be2f7d3"
    )
    assert volatile.learnable("Served by node 12 in 34 ms", "Served by node 7 in 41 ms")
    assert not volatile.learnable("Input costs $15 / MTok", "Input costs $12 / MTok")
    assert not volatile.learnable("| gpt-4o | 2026 | 10 |", "| gpt-4o | 2026 | 12 |")
    assert not volatile.learnable("Last updated: 2026-03-01", "Last updated: 2026-03-02")
    assert not volatile.learnable("Retires on March 3, 2026", "Retires on March 4, 2026")
    assert not volatile.learnable("Version 3.0", "Version 3.1")
    assert not volatile.learnable("We may share data", "We will share data")
    diff = diff_texts("a\nRendered 10:42:07\nb\n", "a\nRendered 10:42:09\nb\n")
    assert volatile.changed_shapes(diff) == {"Rendered \x00": "Rendered 10:42:09"}
    assert volatile.mask("x\nRendered 11:00:00\n", {"Rendered \x00"}) == "x\nRendered \x00\n"


def test_a_policy_rolled_back_to_its_earlier_version_is_alerted_not_a_revert(
    tmp_path: Path, page_server: PageServer
) -> None:
    config = write_watchlist(tmp_path, page_server)
    outcomes = []
    for content in (RSP_V1, RSP_V2, RSP_V1):
        page_server.route("/rsp", lambda request, c=content: Response(body=page(c)))
        outcomes.append(run(config))
    assert [r.outcome for r in outcomes] == ["first", "changed", "changed"]
    back = outcomes[-1]
    assert back.labels == ("version_bump",) and back.severity == "major"
    assert (
        back.summary.startswith("Version 3.1 → 3.0")
        and "(back to an earlier version)" in back.summary
    )
    change = queries.change(open_engine(config.database_url), back.change_id or 0)
    assert change is not None
    assert {"kind": "version", "marker": "version", "from": "3.1", "to": "3.0"}.items() <= (
        change.facts[0].items()
    )


def test_validate_fetch_names_the_lines_check_will_learn(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    requests = itertools.count(1)
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1 + _footer(next(requests)))))
    write_watchlist(tmp_path, page_server)
    assert main(["--watchlist", str(tmp_path / "watchlist.toml"), "validate", "--fetch"]) == 1
    out = capsys.readouterr().out
    assert "rsp: NOISE" in out and "+ Rendered 10:42:" in out
    assert "`check` learns this line as volatile" in out


RAW_PAGE = """---
title: Model retirements
ms.date: {date}
author: someone
---

# Model retirements

| Model | Version | Retirement date |
| ---- | ---- | ---- |
| `model-a` | 0613 | No earlier than October 1, 2026 |
"""


def test_a_raw_markdown_page_whose_front_matter_date_moves_is_a_version_bump(
    tmp_path: Path, page_server: PageServer
) -> None:
    served = [RAW_PAGE.format(date="01/09/2026")]
    page_server.route(
        "/rsp",
        lambda request: Response(body=served[0].encode(), content_type="text/markdown"),
    )
    config = write_watchlist(tmp_path, page_server)
    assert run(config).outcome == "first"
    served[0] = served[0].replace("author: someone", "author: someone-else")
    assert run(config).outcome in ("unchanged", "noise")  # front matter other than its date
    served[0] = RAW_PAGE.format(date="02/06/2026").replace("author: someone", "author: x")
    report = run(config)
    assert report.outcome == "changed" and report.labels == ("version_bump",)
    change = queries.change(open_engine(config.database_url), report.change_id or 0)
    assert change is not None
    (fact,) = [f for finding in change.findings for f in finding["facts"]]
    assert (fact["from"], fact["to"]) == ("2026-01-09", "2026-02-06")
