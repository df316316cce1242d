"""How a change reads: version markers in every date form, a bare "Last updated" bump's
severity, and link targets normalised the way re-exports move them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.classify import classify_change
from monitor.classify.cosmetic import link_target
from monitor.classify.text import kept_cross_reference
from monitor.classify.versions import markers
from monitor.config import Watch
from monitor.diff import diff_texts

AT = datetime(2026, 5, 4, 9, tzinfo=UTC)
DOC = "# Usage policy\n{marker}\nYou may not use the service to harm people.\n"


def _classify(old: str, new: str, kind: str = "policy") -> tuple[tuple[str, ...], str]:
    old, new = DOC.format(marker=old), DOC.format(marker=new)
    watch = Watch(id="w", url="https://example.com/p", kind=kind)
    result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
    return result.labels, result.severity


@pytest.mark.parametrize(
    ("text", "value", "alt"),
    [
        ("Last updated on 10/02/2024", "2024-10-02", "2024-02-10"),
        ("Last updated on 15/02/2024", "2024-02-15", None),
        ("Last updated on 02/15/2024", "2024-02-15", None),
        ("Effective as of 2024/03/05", "2024-03-05", None),
        ("Revised on October 2, 2024", "2024-10-02", None),
        ("Last updated: 2024-10-02 10:42", "2024-10-02T10:42", None),
    ],
)
def test_markers_read_dates_in_every_form(text: str, value: str, alt: str | None) -> None:
    (marker,) = markers(text)
    assert (marker.value, marker.alt) == (value, alt)


def test_a_bare_last_updated_bump_is_minor_and_a_version_or_effective_bump_major() -> None:
    assert _classify("Last updated on 10/02/2024", "Last updated on 11/15/2024") == (
        ("version_bump",),
        "minor",
    )
    assert _classify("Last updated: 2024-10-02", "Last updated: 2024-10-03", "lifecycle") == (
        ("version_bump",),
        "info",
    )
    assert _classify("Effective: 2024-10-02", "Effective: 2024-11-02") == (
        ("version_bump",),
        "major",
    )
    assert _classify("Version 3.0", "Version 3.1")[1] == "major"


def test_marker_format_flips_and_ticking_counters_are_cosmetic_a_reset_is_a_version() -> None:
    assert _classify("Last updated on 10/02/2024", "Last updated on 2 October 2024")[0] == (
        "cosmetic",
    )
    assert _classify("Last updated on 10/02/2024", "Last updated on 2024-02-10")[0] == (
        "cosmetic",
    )  # day first: the same date read the other way
    assert _classify("Updated 5 days ago", "Updated 6 days ago")[0] == ("cosmetic",)
    assert _classify("Updated 21 days ago", "Updated 10 hours ago")[0] == ("version_bump",)


def test_link_targets_lose_what_re_exports_change() -> None:
    assert link_target("/en/docs/build/pricing") == link_target("/docs/en/build/pricing")
    assert link_target("https://docs.example.com/en/pricing?utm=x#plans") == "pricing#plans"
    assert link_target("/en/docs/pricing") != link_target("/en/docs/models")


@pytest.mark.parametrize(
    ("old_link", "new_link", "labels"),
    [
        # a cross-reference moved to another page and named after it
        ("[How to implement tool use](/docs/en/tool-use/implement-tool-use)",
         "[Handle tool calls](/docs/en/tool-use/handle-tool-calls)", ("cosmetic",)),
        # another model, another number, or a status word: what the link says changed
        ("[Claude Opus 4](/docs/en/models/claude-opus-4)",
         "[Claude Opus 5](/docs/en/models/claude-opus-5)", ("policy_text",)),
        ("[Fast mode](/docs/en/fast-mode)",
         "[Fast mode deprecated](/docs/en/fast-mode-deprecated)", ("policy_text",)),
        # one section moved to another page, its link made descriptive
        ("[Retrieve local sessions](/docs/en/compliance-content-data#retrieve-local-sessions)",
         "[Sessions on users' machines](/docs/en/compliance-sessions#retrieve-local-sessions)",
         ("cosmetic",)),
        ("[Opus 4 pricing](/docs/en/opus#pricing)", "[Opus 5 pricing](/docs/en/opus-5#pricing)",
         ("policy_text",)),
    ],
)  # fmt: skip
def test_a_link_repointed_and_renamed_after_its_new_page(
    old_link: str, new_link: str, labels: tuple[str, ...]
) -> None:
    page = "# Release notes\n\n### May 1, 2026\n- We've added support. Learn more in {}.\n"
    old, new = page.format(old_link), page.format(new_link)
    watch = Watch(id="notes", url="https://example.com/notes", kind="index")
    assert classify_change(diff_texts(old, new), old, new, watch, at=AT).labels == labels


def _fixture_texts() -> list[str]:
    import json
    from pathlib import Path

    texts = []
    for path in sorted((Path(__file__).parent / "fixtures" / "classify").rglob("*")):
        if path.name.startswith(("before", "after")):
            texts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json" and path.name != "case.json" and path.parent.name == "classify":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "before_text" in data:
                texts += [data["before_text"], data["after_text"]]
    return texts


def test_lines_built_on_demand_are_the_lines_of_the_whole_text() -> None:
    from monitor.classify.lines import Doc

    texts = _fixture_texts() + [
        "---\ntitle: Models\nslug: x\n---\n# A\ntext\nSub\n---\nmore\nTitle\n=== \n**Bold**\n"
        "\t- item\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        "---\ntitle: never closed\nbody\n",
        "Intro\r\n===\r\n# Heading\r\n- item\r\n",
    ]
    assert len(texts) > 100
    for text in texts:
        whole = Doc(text).lines
        on_demand = Doc(text)
        for line in reversed(whole):  # far lines first: trails must not depend on order
            assert on_demand.line(line.number) == line
        assert on_demand.lines == whole
        assert Doc(text).cores() == {line.core for line in whole}


def test_holds_any_folds_case_as_ignorecase_patterns_do() -> None:
    import re
    import sys

    from monitor.classify.text import holds_any

    every_char = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for match in re.finditer(letter, every_char, re.I):
            assert holds_any(f"x{match.group()}x", [f"x{letter}x"]), hex(ord(match.group()))
    assert holds_any("Now GENERALLY AVAİLABLE", ["available"])
    assert not holds_any("deprecated in May", ["available", "launch"])


def test_every_launch_or_retire_words_match_holds_one_of_its_words() -> None:
    from monitor import patterns as p
    from monitor.classify.text import holds_any, lines_holding

    said = [*_fixture_texts(), "Introducing X; now generally AVAILABLE.", "提供開始 リリース"]
    said += ["Requests to x will FAIL.", "SHUT\tdown; end-of-support; EOL", "İİ\nretirİng"]
    for pattern, words in (
        (p.LAUNCH_WORDS, p.LAUNCH_WORDS_HOLD),
        (p.RETIRE_WORDS, p.RETIRE_WORDS_HOLD),
    ):
        found = [m.group() for text in said for m in pattern.finditer(text)]
        assert len(found) > 50
        assert all(holds_any(match, words) for match in found)
        for text in said:
            lines = text.split("\n")
            matching = {i for i, line in enumerate(lines) if pattern.search(line)}
            assert matching <= lines_holding(lines, words)
            holding = {i for i, line in enumerate(lines) if holds_any(line, words)}
            assert lines_holding(lines, words) == holding


def test_api_continues_is_found_near_its_words_as_in_the_whole_text() -> None:
    import re._parser

    from monitor import patterns as p
    from monitor.classify.text import found_near, holds_any

    pattern = p.API_CONTINUES
    assert re._parser.parse(pattern.pattern, pattern.flags).getwidth()[1] <= p.API_CONTINUES_WIDTH
    written = [
        "The model is retired. It remains available through the API for now.",
        "x" * 200 + " In the API, there are no changes. API access is unaffected.",
        "No changes to the APIs. The API, unchanged. our API.",
        "APİ IS UNCHANGED",
        "APIは引き続きご利用いただけます",
    ]
    said = [*_fixture_texts(), *written]
    found = [m.group() for text in said for m in pattern.finditer(text)]
    assert len(found) >= 5
    assert all(holds_any(match, p.API_CONTINUES_HOLD) for match in found)
    for text in said:
        near = found_near(pattern, text, p.API_CONTINUES_HOLD, p.API_CONTINUES_WIDTH)
        assert near == bool(pattern.search(text))
    for text in written:
        for cut in range(len(text)):  # the words at every distance from the text's ends
            for part in (text[cut:], text[:cut]):
                near = found_near(pattern, part, p.API_CONTINUES_HOLD, p.API_CONTINUES_WIDTH)
                assert near == bool(pattern.search(part)), part[:80]


def test_tables_read_from_table_lines_are_the_tables_of_all_lines() -> None:
    from monitor.classify.lines import Doc
    from monitor.classify.tables import parse_tables

    def shape(text: str, *, whole: bool) -> list[object]:
        doc = Doc(text)
        tables = parse_tables(doc.lines if whole else doc.table_lines())
        return [(t.head.number, t.header, [(r.line.number, r.raw) for r in t.rows]) for t in tables]

    texts = _fixture_texts() + [
        "| a | b |\ntext\n| c | d |\n",
        "| a |\n\n| b |\n",
        "| a |\n|---|\n| 1 |\n\n\n| x |\n| y |\n",
    ]
    assert sum(1 for text in texts if "\n|" in text) > 20
    for text in texts:
        assert shape(text, whole=False) == shape(text, whole=True)


def test_tables_of_a_page_are_the_tables_of_all_lines_with_their_rows_lines() -> None:
    from monitor.classify.lines import Doc
    from monitor.classify.tables import Table, page_tables, parse_tables

    def shape(tables: list[Table]) -> list[object]:
        return [
            (t.head, t.header, [(r.line_number, r.line_text, r.text, r.raw) for r in t.rows])
            for t in tables
        ]

    texts = _fixture_texts() + [
        "| a | b |\ntext\n| c | d |\n",
        "| a |\n\n| b |\n",
        "| a |\n|---|\n| 1 |\n\n\n| x |\n| y |\n",
        "---\n| a |\n| b |\n---\n| c |\n|---|\n| d |\n",
        "| a |\r\n|---|\r\n| 1 |\r\n\r\n| 2 |\r\n",
        "| a |\n|---|\n| 1 |\n---\n| 2 |\n",
    ]
    assert sum(1 for text in texts if "\n|" in text) > 20
    for text in texts:
        doc, whole = Doc(text), Doc(text)
        lazy, made = page_tables(doc), parse_tables(whole.lines)
        # what tells tables apart, read before any row is made
        assert [t.numbers for t in lazy] == [t.numbers for t in made]
        assert [t.line_texts for t in lazy] == [t.line_texts for t in made]
        assert [t.row_texts() for t in lazy] == [t.row_texts() for t in made]
        assert [t.first_cells for t in lazy] == [t.first_cells for t in made]
        for table, other in zip(lazy, made, strict=True):
            for index, row in enumerate(other.rows):
                assert table.row(index).raw == row.raw
                found = table.row_at(row.line.number)
                assert found is not None and found.line == row.line
            assert table.row_at(table.head.number) is None
        assert shape(lazy) == shape(made)
        for table in lazy:  # each row's line, when read, is the one the page gives
            assert [row.line for row in table.rows] == [doc.line(r.line_number) for r in table.rows]


@pytest.mark.parametrize(
    ("old", "new", "labels"),
    [
        # the same address with its locale moved: a re-export, cosmetic
        (
            "Document: https://example.com/en/docs/policy-v3.pdf",
            "Document: https://example.com/docs/en/policy-v3.pdf",
            ("cosmetic",),
        ),
        # another file behind the link: what the page points to changed
        (
            "Document: https://example.com/files/policy-v3.0.pdf",
            "Document: https://example.com/files/policy-v3.1.pdf",
            ("policy_text",),
        ),
    ],
)
def test_a_bare_url_reads_as_the_words_of_its_path(
    old: str, new: str, labels: tuple[str, ...]
) -> None:
    assert _classify(old, new)[0] == labels


def test_core_skips_only_substitutions_that_cannot_match() -> None:
    from monitor.classify import text as t

    def every_substitution(line: str) -> str:
        text = t._ESCAPE.sub(r"\1", line.translate(t._TRANSLATE).strip())
        text = t._LINK.sub(r"\1", t._IMAGE.sub(r"\1", text))
        text = t._TAG.sub(" ", t._AUTOLINK.sub(r"\1", text))
        text = t._ENTITY.sub(t._unescaped, text)
        text = t._MARKERS.sub("", text.strip())
        text = t._GLUED_CODE.sub(r"\1 ", text)
        text = t._SYMBOLS.sub("", t._EMPHASIS.sub("", text))
        text = t._SPACE_PUNCT.sub(r"\1", t._SPACES.sub(" ", text))
        return text.strip(" |") if text.startswith("|") and text.count("|") == 1 else text.strip()

    written = [
        r"\*not emphasis\* and a \| pipe", "![logo](/a.png) [the guide](/en/docs/x) <b>bold</b>",
        "<https://example.com/x> \u2014 \u201cquoted\u201d\u00a0text", "12. item", "• bullet",
        "> - **Note**: `code` _x_ snake_case", "`gpt-4`0613 glued", "word ,  spaced\t\tout .", "a\u2003wide\u3000space ;",
        "\U0001f680 launch \ufe0f", "| one cell |", "||", "", "   ", "\x1cfile\x1fseparators )",
        "\u0661\u0662. Arabic-Indic digits", "x\u200bzero width ]", "Q&amp;A &#8212; R&D ?a=1&copy=2",
    ]  # fmt: skip
    lines = {line for text in _fixture_texts() for line in text.split("\n")}
    for line in [*written, *sorted(lines)]:
        assert t.core.__wrapped__(line) == every_substitution(line), line


def test_core_reads_character_entities_as_their_characters() -> None:
    from monitor.classify.text import core

    assert core("<td>Inputs &amp; outputs &#8212; Q&amp;A</td>") == "Inputs & outputs \u2014 Q&A"
    assert core("see /x?a=1&copy=2 and R&D") == "see /x?a=1&copy=2 and R&D"  # no ";"


def test_ids_read_in_runs_of_lines_are_the_ids_of_the_whole_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.classify import names

    texts, size = [], 0
    for text in _fixture_texts():  # about a megabyte of real pages
        texts.append(text)
        size += len(text)
        if size > 1_000_000:
            break
    whole = "\n".join(texts) + "\nclaude-3-opus-20240229\n\n`gpt-4o`|xai/grok-4\n"
    runs = names._chunks(whole)
    assert len(runs) > 1000
    assert "\n".join(chunk for _, chunk in runs) == whole
    assert all(whole[start : start + len(chunk)] == chunk for start, chunk in runs)
    names.find_models.cache_clear()
    in_runs = names.find_models(whole)
    monkeypatch.setattr(names, "_CHUNKED", len(whole) + 1)  # one run: the whole text at once
    names.find_models.cache_clear()
    at_once = names.find_models(whole)
    names.find_models.cache_clear()
    assert len(at_once) > 1000
    assert in_runs == at_once


def test_a_header_cell_is_read_without_its_footnote_mark_and_model_version_is_the_version() -> None:
    from monitor.classify.tables import roles

    header = ("Model Name", "Model Version<sup>1</sup>", "Lifecycle Status", "Retirement Date")
    assert roles(header) == {0: "model", 1: "version", 2: "status", 3: "shutdown"}
    # the same header after its tags are read away: the footnote is a trailing number
    assert roles(("Model Name", "Model Version 1", "Retirement Date"))[1] == "version"
    assert roles(("Model", "Version[^2]", "Retirement date²")) == {
        0: "model",
        1: "version",
        2: "shutdown",
    }


@pytest.mark.parametrize("key", ["date", "updated", "lastmod", "last_modified_at", "ms.date"])
def test_a_front_matter_date_that_moves_is_the_pages_version_bump(key: str) -> None:
    before = f"---\ntitle: Policy\n{key}: 2025-01-02\n---\n\n# Policy\n\nWe keep your data safe.\n"
    after = before.replace("2025-01-02", "2025-02-03")
    watch = Watch(id="w", url="https://example.com/p.md", kind="policy")
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    assert result.labels == ("version_bump",)
    moved = {"kind": "version", "marker": "last updated", "from": "2025-01-02", "to": "2025-02-03"}
    assert moved in result.facts


def test_an_active_row_listed_with_a_retirement_date_is_a_launch_that_retires_then() -> None:
    """A model table of an HTML page (status and retirement date columns) gains a generally
    available row with a date: the model is listed, and the date is when it retires; a row
    without a date is a launch only, and a row already listed that keeps its date is neither."""
    from monitor.extract import extract_text

    def page(*rows: tuple[str, str, str]) -> str:
        cells = "".join(f"<tr><td>{m}</td><td>{s}</td><td>{d}</td></tr>" for m, s, d in rows)
        head = "<tr><th>Model</th><th>Status</th><th>Retirement date</th></tr>"
        html = f"<main><h1>Models</h1><table>{head}{cells}</table></main>"
        return extract_text(html.encode(), charset="utf-8", base_url="https://example.com/")

    kept = ("acme-large-2", "Generally available", "2026-11-30")
    before = page(kept)
    after = page(kept, ("acme-large-3", "Generally available", "No earlier than 2027-06-01"),
                 ("acme-small-3", "Preview", ""))  # fmt: skip
    watch = Watch(id="models", url="https://example.com/models", kind="lifecycle")
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    launched = sorted(f["model"] for f in result.facts if f["kind"] == "launch")
    retiring = [(f["model"], f["shutdown_date"], f.get("qualifier")) for f in result.facts
                if f["kind"] == "retirement"]  # fmt: skip
    assert launched == ["acme-large-3", "acme-small-3"]
    assert retiring == [("acme-large-3", "2027-06-01", "no earlier than")]
    assert {"model_launch", "model_retirement"} <= set(result.labels)


def _table_page(header: tuple[str, ...], *rows: tuple[str, ...]) -> str:
    from monitor.extract import extract_text

    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    html = f"<main><h1>Fine-tuning</h1><table><tr>{head}</tr>{body}</table></main>"
    return extract_text(html.encode(), charset="utf-8", base_url="https://example.com/")


def _lifecycle_facts(before: str, after: str) -> list[tuple[str, str, str | None]]:
    watch = Watch(id="models", url="https://example.com/models", kind="lifecycle")
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    return sorted(
        (f["kind"], f["model"], f.get("shutdown_date") or f.get("to"))
        for f in result.facts
        if f["kind"] in ("retirement", "retirement_change")
    )


def test_a_training_retirement_column_is_not_the_shutdown_the_deployment_column_is() -> None:
    """A fine-tuning table with a training and a deployment retirement date: training stopping
    is a deprecation (no new fine-tuning), not the model going away; a deployment date set where
    there was none is the shutdown."""
    header = ("Model", "Training retirement date", "Deployment retirement date")
    before = _table_page(header, ("acme-tune-2", "At base model retirement", "One year later"))
    trained = _table_page(header, ("acme-tune-2", "2026-09-30", "One year later"))
    deployed = _table_page(header, ("acme-tune-2", "2026-09-30", "2027-03-31"))
    assert _lifecycle_facts(before, trained) == [("retirement", "acme-tune-2", None)]
    assert _lifecycle_facts(before, deployed) == [("retirement", "acme-tune-2", "2027-03-31")]


def test_a_cell_that_keeps_a_date_for_some_deployments_and_moves_the_rest_is_a_postponement() -> (
    None
):
    """A Retirement Date cell rewritten as one date per kind of deployment, the old date kept for
    one kind and a later one for the others: those are postponed to it, no new retirement."""
    header = ("Model", "Retirement date")
    before = _table_page(header, ("acme-large-1", "2026-03-31"))
    split = (
        "Regional deployments retire on 2026-03-31, with upgrades starting on 2026-03-09. "
        "For every other deployment type, the retirement date has been moved to 2026-10-01."
    )
    after = _table_page(header, ("acme-large-1", split))
    assert _lifecycle_facts(before, after) == [("retirement_change", "acme-large-1", "2026-10-01")]


def test_a_row_whose_id_gives_its_version_to_the_version_cell_is_the_same_row() -> None:
    """`acme-voice-2026-01-10 | 2026-01-10 | 2026-12-01` rewritten as `acme-voice | 2026-01-10 |
    2026-12-01`: the same model (its registry key is unchanged), so no entry leaves, nothing is
    launched and no retirement is told again; a new date on it is still read."""
    header = ("Model", "Version", "Retirement date")
    before = _table_page(header, ("acme-voice-2026-01-10", "2026-01-10", "2026-12-01"))
    after = _table_page(header, ("acme-voice", "2026-01-10", "2026-12-01"))
    watch = Watch(id="models", url="https://example.com/models", kind="lifecycle")
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    assert not {"entry_removed", "model_launch", "model_retirement"} & set(result.labels)
    moved = _table_page(header, ("acme-voice", "2026-01-10", "2026-10-01"))
    assert _lifecycle_facts(before, moved) == [("retirement", "acme-voice", "2026-10-01")]


def test_a_line_made_for_a_page_is_the_frozen_line_its_fields_make() -> None:
    import dataclasses

    from monitor.classify.lines import Doc, Line

    doc = Doc("# Models\n\n  - item `gpt-4o`\n| a | b |\n|---|---|\n| x | y |\nText")
    lines = list(doc.lines)
    assert [line.number for line in lines] == [1, 3, 4, 6, 7]
    for line in lines:
        fields = {f.name: getattr(line, f.name) for f in dataclasses.fields(Line)}
        assert line == Line(**fields) and hash(line) == hash(Line(**fields))
        with pytest.raises(dataclasses.FrozenInstanceError):
            line.text = "changed"  # type: ignore[misc]
    assert lines[1].depth == 1 and lines[2].table and lines[1].core == "item gpt-4o"


NEW = "- [Pay-as-you-go](https://docs.example.com/paygo) Supported\n"


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("See [Consumption options](https://docs.example.com/paygo) for more information.", True),
        ("  - See [Pricing](https://docs.example.com/paygo).", True),
        ("For details, see [Pay as you go](https://docs.example.com/paygo)", True),
        # the page it pointed to is no longer linked: the reader lost the way there
        ("See [Regions](https://docs.example.com/regions) for more information.", False),
        # more than a pointer: the line says something of its own
        ("See [Pricing](https://docs.example.com/paygo): prices rise on June 1.", False),
    ],
)
def test_a_pointer_to_a_page_still_linked(line: str, kept: bool) -> None:
    assert kept_cross_reference(line, NEW) is kept
