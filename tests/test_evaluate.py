"""`monitor eval`'s figures: the headline retirement figures, scores per page, the pages each
rule is supported by, and leave-one-page-out, on small case folders written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.evaluate import evaluate, fact_matches

TABLE = "| Model | Retirement date |\n| --- | --- |\n| gpt-4-0613 | 2026-06-06 |\n"
ADDED = TABLE + "| gpt-4-0314 | 2026-07-01 |\n"
POLICY = "# Usage policy\n\nYou may not use the service to build weapons.\n"


def write_case(
    folder: Path, name: str, page: str, before: str, after: str, **expected: object
) -> None:
    case = {
        "description": name,
        "source": "written for this test",
        "watch": {"id": page, "kind": "lifecycle"},
        "at": "2026-05-01T00:00:00Z",
        "before_text": before,
        "after_text": after,
        "expected": expected,
    }
    (folder / f"{name}.json").write_text(json.dumps(case))


def cases(tmp_path: Path) -> Path:
    retirement = {"kind": "retirement", "model": "gpt-4-0314", "shutdown_date": "2026-07-01"}
    write_case(tmp_path, "a-row", "page-a", TABLE, ADDED, labels=["model_retirement"],
               facts=[retirement])  # fmt: skip
    write_case(tmp_path, "b-row", "page-b", TABLE, ADDED, labels=["model_retirement"],
               facts=[{**retirement, "shutdown_date": "2026-08-01"}])  # fmt: skip
    write_case(tmp_path, "b-policy", "page-b", POLICY, POLICY.replace("weapons", "malware"),
               labels=["model_retirement"])  # fmt: skip
    return tmp_path


def test_headline_counts_model_and_date_and_label_precision(tmp_path: Path) -> None:
    report = evaluate(cases(tmp_path))
    headline = report.headline()
    assert (headline["retirements_found"], headline["retirements_expected"]) == (1, 2)
    assert headline["model_retirement_labelled"] == 2 and headline["model_retirement_right"] == 2
    pages = report.pages()
    assert list(pages) == ["page-a", "page-b"]
    assert pages["page-a"].retirements_found() == (1, 1)
    assert pages["page-b"].per_label()["model_retirement"]["fn"] == 1


def test_rule_support_shows_a_rule_only_one_page_supports(tmp_path: Path) -> None:
    report = evaluate(cases(tmp_path))
    support = report.rule_support()
    assert support["lifecycle.row_added"] == {"page-a": 1, "page-b": 1}
    held = report.leave_one_page_out()
    assert held["page-a"] == {"cases": 1, "right_labels": 1, "held_out": 1}
    (tmp_path / "a-row.json").unlink()
    alone = evaluate(tmp_path)
    assert alone.rule_support()["lifecycle.row_added"] == {"page-b": 1}
    assert alone.leave_one_page_out()["page-b"]["held_out"] == 0


def test_eval_by_page_prints_pages_rules_and_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", str(cases(tmp_path)), "--by-page"])
    out = capsys.readouterr().out
    assert code == 0
    assert "retirements (model + shutdown date): 1/2 (50.0%)" in out
    assert "page-b: 0/2 cases right" in out
    assert "lifecycle.row_added: 2 pages (page-a 1, page-b 1)" in out
    main(["eval", str(tmp_path), "--by-page", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["headline"]["retirements_found"] == 1
    assert data["leave_one_page_out"]["page-a"]["held_out"] == 1
    assert data["pages"]["page-b"]["cases"] == 2


def test_a_model_with_its_version_is_the_same_model_as_the_id_carrying_the_version() -> None:
    labelled = {"kind": "retirement", "model": "gpt-35-turbo", "version": "0301"}
    assert fact_matches(labelled, {"kind": "retirement", "model": "gpt-35-turbo-0301"})
    assert fact_matches({"kind": "retirement", "model": "gpt-35-turbo-0301"}, labelled)
    assert not fact_matches(labelled, {"kind": "retirement", "model": "gpt-35-turbo-0613"})
    assert not fact_matches(labelled, {"kind": "retirement", "model": "gpt-35-turbo"})
