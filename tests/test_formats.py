"""PDFs, feeds and JSON: the format chosen for a body, the text each extractor writes, and each
kind of bad input ending as one extraction problem."""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor import extract
from monitor.classify import classify_change
from monitor.classify.records import item_prose, parse_records
from monitor.config import Watch, load_config
from monitor.diff import diff_texts
from monitor.errors import ConfigError, ExtractError
from monitor.evaluate import load_case, run_case
from monitor.extract.formats import choose_format
from tests.pdfmaker import PARAGRAPH, image_only_pdf, policy_pdf, text_pdf

URL = "https://example.com/doc"
AT = datetime(2026, 4, 27, 12, 0, tzinfo=UTC)
CLASSIFY = Path(__file__).parent / "fixtures" / "classify"


def read(body: bytes, **options: Any) -> extract.Extracted:
    return extract.extract_document(body, **{"charset": None, "base_url": URL, **options})


@pytest.mark.parametrize(
    ("body", "content_type", "declared", "expected"),
    [
        (b"%PDF-1.7\n...", "application/pdf", None, "pdf"),
        (b"%PDF-1.4\n...", "application/octet-stream", None, "pdf"),  # mislabelled
        (b"%PDF-1.4\n...", "text/html", None, "pdf"),
        (b'<?xml version="1.0"?>\n<rss version="2.0">', "text/xml", None, "feed"),
        (
            b'<?xml version="1.0"?><!-- c --><feed xmlns="http://www.w3.org/2005/Atom">',
            None,
            None,
            "feed",
        ),
        (b"<rdf:RDF xmlns:rdf='x'>", "application/xml", None, "feed"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" '
            b'"http://my.netscape.com/rss-0.91.dtd">\n<rss version="0.91">',
            None,
            None,
            "feed",
        ),
        (b'  {"data": []}', "text/plain", None, "json"),
        (b"[1, 2]", "text/html", None, "json"),
        (b"<!doctype html><p>x</p>", "application/rss+xml", None, "feed"),  # believed, then refused
        (b"not much", "application/vnd.api+json", None, "json"),
        (b"<!doctype html><p>x</p>", "text/html", None, "html"),
        (b"<p>x</p>", None, None, "html"),
        (b"%PDF-1.4", "application/pdf", "html", "html"),  # the watch decides
        (b"---\ntitle: x\n---\n# x\n", "text/plain; charset=utf-8", None, "text"),
        (b"# x\n\n| a | b |\n", "text/markdown", None, "text"),
        (b"<!doctype html><p>x</p>", "text/plain", None, "html"),  # a page sent as text
    ],
)
def test_format_is_chosen_by_watch_then_bytes_then_content_type(
    body: bytes, content_type: str | None, declared: str | None, expected: str
) -> None:
    chosen, _how = choose_format(body, content_type, declared)  # type: ignore[arg-type]
    assert chosen == expected


def test_pdf_text_has_pages_headings_and_no_running_furniture() -> None:
    document = read(policy_pdf(version="3.1", pages=3), content_type="application/pdf")
    lines = document.text.split("\n")
    assert document.format == "pdf"
    assert [line for line in lines if line.startswith("# ")] == [
        f"# Page {n}" for n in (1, 2, 3, 4)
    ]
    assert lines[:4] == [
        "# Page 1",
        "## Responsible Scaling Policy",
        "Version 3.1",
        "Effective date: March 31, 2026",
    ]
    assert "### 1. Capability threshold 1" in lines and "### 6. Capability threshold 6" in lines
    # the running header (the title in small type) and the "Page N of M" footers are gone
    assert document.text.count("Responsible Scaling Policy") == 1
    assert "of 4" not in document.text
    # a paragraph is one line, its hyphenated line ends joined ("thres-" / "hold")
    assert PARAGRAPH.format(n=3) in lines
    assert "thres-" not in document.text and "thres hold" not in document.text
    assert (
        "4 pages, 7 headings" in document.seen
        and "running header/footer lines removed" in document.seen
    )


def test_pdf_text_is_deterministic_and_reads_outline_headings() -> None:
    body = policy_pdf(pages=2, outline=True)
    assert read(body).text == read(body).text
    page = ["Introduction", "Some body text on the first page.", "Scope", "More text."]
    assert read(text_pdf([page])).text == (
        "# Page 1\nIntroduction Some body text on the first page. Scope More text."
    )  # one font, no outline: one paragraph
    assert read(text_pdf([page], bookmarks=("Introduction", "Scope"))).text == (
        "# Page 1\n## Introduction\nSome body text on the first page.\n## Scope\nMore text."
    )


def test_pdf_without_text_layer_is_named_as_such() -> None:
    with pytest.raises(
        ExtractError, match=r"no text layer \(2 pages of images: a scanned document"
    ):
        read(image_only_pdf(2))


def test_truncated_pdf_is_an_extract_problem() -> None:
    body = policy_pdf(pages=2)
    with pytest.raises(ExtractError, match=r"^truncated PDF at .*no %%EOF"):
        read(body[: len(body) // 2])


def test_damaged_pdf_is_an_extract_problem() -> None:
    body = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    with pytest.raises(ExtractError, match=r"^damaged PDF at https://example.com/doc: "):
        read(body)


def test_encrypted_pdf_needs_a_password_is_an_extract_problem() -> None:
    with pytest.raises(ExtractError, match=r"^encrypted PDF at .*needs a password"):
        read(policy_pdf(pages=1, encrypt_password="secret"))


@pytest.mark.parametrize("aes", [False, True])
def test_pdf_encrypted_without_a_user_password_is_read(aes: bool) -> None:
    # permission-restricted documents (no printing, no copying) open without a password
    document = read(policy_pdf(pages=1, encrypt_password="", aes=aes))
    assert "Version 3.0" in document.text and "encrypted without a password" in document.seen


def _pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF from numbered objects, with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, xref,
    )  # fmt: skip
    return bytes(out)


def _page_tree(levels: int) -> bytes:
    """A page tree whose every level lists the level below ten times: 10**levels pages from a
    few hundred bytes."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(levels):
        kid = len(objects) + 2
        kids = b" ".join([b"%d 0 R" % kid] * 10)
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, 10 ** (levels - level)))
    objects.append(b"<< /Type /Page /MediaBox [0 0 612 792] >>")
    return _pdf(objects)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        (4, r"^PDF at https://example.com/doc has 10000 pages, more than 2000; not read"),
        (9, r"^PDF at https://example.com/doc is too large to read safely: .*page tree"),
    ],
)
def test_pdf_bomb_with_a_huge_page_count_is_refused_quickly(levels: int, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(ExtractError, match=message):
        read(_page_tree(levels))
    assert time.monotonic() - started < 10


def test_pdf_bomb_with_an_inflating_stream_is_refused() -> None:
    # a page whose text stream inflates from under 200 KB to 120 MB, past pypdf's inflation limit
    packer = zlib.compressobj(9)
    chunk = b"(AAAA) Tj " * 100_000
    packed = packer.compress(b"BT /F1 12 Tf 72 700 Td ")
    packed += b"".join(packer.compress(chunk) for _ in range(120)) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
    ]
    started = time.monotonic()
    with pytest.raises(ExtractError, match=r"^PDF at https://example.com/doc is too large to read"):
        read(_pdf(objects))
    assert time.monotonic() - started < 10


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Research</title><link>https://lab.example/research</link>
<lastBuildDate>Fri, 27 Mar 2026 04:35:46 GMT</lastBuildDate>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>https://lab.example/{slug}</link>
<guid>https://lab.example/{slug}</guid><pubDate>{date}</pubDate>
<description><![CDATA[<p>{title}: a <b>summary</b>.</p>]]></description></item>"""


def rss(*items: tuple[str, str, str]) -> bytes:
    body = "\n".join(ITEM.format(title=t, slug=s, date=d) for t, s, d in items)
    return RSS.format(items=body).encode()


FIRST = ("Scaling monosemanticity", "monosemanticity", "Tue, 21 May 2024 10:00:00 GMT")
SECOND = ("Alignment faking", "alignment-faking", "Wed, 18 Dec 2024 10:00:00 GMT")


def test_feed_items_are_records_newest_first_and_order_is_no_change() -> None:
    document = read(rss(FIRST, SECOND), content_type="application/rss+xml")
    assert document.format == "feed" and "RSS 2.0, 2 items" in document.seen
    lines = document.text.split("\n")
    assert lines[0] == '{"last_updated": "2026-03-27T04:35:46Z",'
    items = [json.loads(line.rstrip(",")) for line in lines[lines.index('"items": [') + 1 : -1]]
    assert items[0] == {
        "link": "https://lab.example/alignment-faking",
        "published": "2024-12-18T10:00:00Z",
        "summary": "Alignment faking: a summary.",
        "title": "Alignment faking",
    }
    assert [item["title"] for item in items] == ["Alignment faking", "Scaling monosemanticity"]
    assert read(rss(SECOND, FIRST)).text == document.text
    json.loads(document.text)  # still JSON, so the classifier reads the records


def test_atom_feed_is_read() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title><updated>2026-03-01T00:00:00Z</updated>
<entry><title>Claude 5</title><link href="https://lab.example/claude-5"/><id>tag:lab,2026:1</id>
<updated>2026-03-01T00:00:00Z</updated><summary>Announcing.</summary></entry></feed>"""
    document = read(atom, content_type="application/atom+xml")
    assert "Atom 1.0, 1 items" in document.seen
    assert '"guid": "tag:lab,2026:1"' in document.text and '"title": "Claude 5"' in document.text


def test_feed_that_is_an_html_page_is_an_extract_problem() -> None:
    page = b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>Hi</p></body></html>"
    with pytest.raises(ExtractError, match=r"^not a feed at https://example.com/doc: an HTML page"):
        read(page, content_type="application/rss+xml; charset=utf-8")
    with pytest.raises(ExtractError, match=r"^not a feed at .*: an HTML page"):
        read(page, format="feed")


def test_json_records_are_one_per_line_in_identity_order() -> None:
    models = {
        "object": "list",
        "data": [
            {"id": "gpt-4o-mini", "owned_by": "system", "created": 2},
            {"id": "gpt-4o", "owned_by": "system", "created": 1},
        ],
    }
    document = read(json.dumps(models).encode(), content_type="application/json")
    assert document.text == "\n".join(
        [
            '{"object": "list",',
            '"data": [',
            '{"created": 1, "id": "gpt-4o", "owned_by": "system"},',
            '{"created": 2, "id": "gpt-4o-mini", "owned_by": "system"}',
            "]}",
        ]
    )
    assert "2 records keyed by id" in document.seen
    models["data"].reverse()
    assert read(json.dumps(models).encode()).text == document.text


def test_json_id_fields_choose_the_identity() -> None:
    rows = [
        {"provider": "OpenAI", "model": "b", "shutdown": "2026-01-01"},
        {"provider": "Anthropic", "model": "c", "shutdown": "2026-02-01"},
        {"provider": "Anthropic", "model": "a", "shutdown": "2026-03-01"},
    ]
    text = read(json.dumps(rows).encode(), id_fields=("provider", "model")).text
    assert [json.loads(line.rstrip(","))["model"] for line in text.split("\n")[1:-1]] == [
        "a", "c", "b",
    ]  # fmt: skip
    with pytest.raises(ExtractError, match=r"id_fields 'slug' is missing from some records"):
        read(json.dumps(rows).encode(), id_fields=("slug",))


def test_other_json_is_indented_with_sorted_keys() -> None:
    assert read(b'{"b": 1, "a": {"d": 2, "c": 3}}').text == (
        '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}'
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"data": [1, 2,]}',
            r"^invalid JSON at https://example.com/doc: Expecting value at line 1",
        ),
        (b"[" * 100_000 + b"]" * 100_000, r"^invalid JSON at .*: nested too deeply"),
        (b'{"a": "\xff"}', r"^invalid JSON at .*: not UTF-8"),
    ],
)
def test_invalid_json_is_an_extract_problem(body: bytes, message: str) -> None:
    with pytest.raises(ExtractError, match=message):
        read(body, content_type="application/json")


FEED_CASES = sorted(
    path.name
    for path in CLASSIFY.iterdir()
    if path.is_dir() and ("-rss-" in path.name or "deprecations-data" in path.name)
)


@pytest.mark.parametrize("name", FEED_CASES)
def test_feed_and_json_cases_classify_the_same_once_extracted(name: str) -> None:
    """The classifier's cases of raw feeds and JSON, extracted first as a watch now extracts
    them: the same labels and facts come out as from the raw text, and a fact the rules miss
    (a case's known_miss) is missed alike."""
    case = load_case(CLASSIFY / name)
    before, after = (
        read(text.encode("utf-8"), base_url=case.watch.url).text
        for text in (case.before, case.after)
    )
    if before == after:  # extracted, the two versions are one text: no version to compare
        assert set(case.labels) <= {"cosmetic"}, case.description
        return
    outcome = run_case(replace(case, before=before, after=after))
    raw = run_case(case)
    assert outcome.error is None and raw.classification and outcome.classification
    expected = raw.labels if case.known_miss else case.labels  # a miss is missed alike
    assert sorted(outcome.labels) == sorted(expected), case.description
    assert outcome.missing_facts == raw.missing_facts
    assert case.known_miss or not outcome.missing_facts
    facts = sorted(outcome.classification.facts, key=repr)
    assert facts == sorted(raw.classification.facts, key=repr), case.description


ATOM_NOTICE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Notices</title><id>urn:notices</id>
<updated>2026-02-27T04:06:58Z</updated>
<entry><title>Retiring   quill-lite-2</title><link rel="alternate" href="https://example.com/n/1"/>
<id>urn:notice:1</id><updated>2026-02-27T04:06:58Z</updated>
<summary type="html">&lt;p&gt;Model ID: quill-lite-2&lt;br&gt;Announcement Date: 2026-02-26&lt;/p&gt;
&lt;p&gt;Deprecation notice: Quill Lite 2 (quill-lite-2)
will be shut down March 9, 2026.&lt;/p&gt;</summary></entry></feed>"""


def test_a_raw_feed_item_reads_as_the_extractors_record_line() -> None:
    raw = parse_records(ATOM_NOTICE)
    extracted = parse_records(read(ATOM_NOTICE.encode()).text)
    assert raw and extracted and list(raw.records) == list(extracted.records) == ["urn:notice:1"]
    [[item]] = extracted.records.values()
    assert raw.records["urn:notice:1"] == [item]
    assert item["summary"] == (
        "Model ID: quill-lite-2\nAnnouncement Date: 2026-02-26\n"
        "Deprecation notice: Quill Lite 2 (quill-lite-2) will be shut down March 9, 2026."
    )
    assert item["model_id"] == "quill-lite-2" and item["title"] == "Retiring quill-lite-2"
    # a sentence wrapped in the source reads as the same words as one written whole
    assert item_prose(item["summary"])[-1] == item_prose("Deprecation notice: Quill Lite 2 "
        "(quill-lite-2)\nwill be shut down March 9, 2026.")[-1]  # fmt: skip


def test_records_sharing_an_identity_pair_by_content_not_by_position() -> None:
    first = {"provider": "OpenAI", "model_name": "gpt-4-1106-preview", "shutdown_date": "2026-10-23",
             "replacement": "gpt-4.1", "status": "deprecated"}  # fmt: skip
    second = {**first, "shutdown_date": "2026-03-26", "replacement": "gpt-5"}
    old = json.dumps([first, second], indent=1)
    new = json.dumps([second, {**first, "replacement": "gpt-5.5"}], indent=1)
    watch = Watch(id="deprecations", url=URL, kind="lifecycle")
    result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
    changes = [fact for fact in result.facts if "changed" in fact["kind"] or "event" in fact]
    assert changes == [{"kind": "replacement_changed", "model": "gpt-4-1106-preview",
                        "provider": "openai", "surface": "api", "from": "gpt-4.1",
                        "to": "gpt-5.5"}]  # fmt: skip


def test_a_conjunction_glued_to_a_replacement_id_is_not_part_of_it() -> None:
    """A scraper that lost the space after an id ('veo-3.1-generate-previewor the GA models')
    names the same replacement as before: no replacement change, and the id as it reads."""
    record = {"provider": "Gemini", "model_name": "veo-3.0-generate-001", "shutdown_date": "",
              "replacement": "veo-3.1-generate-preview", "status": "active"}  # fmt: skip
    glued = {**record, "status": "deprecated", "shutdown_date": "2026-06-30",
             "replacement": "veo-3.1-generate-previewor the GA models on the platform"}  # fmt: skip
    old, new = json.dumps([record], indent=1), json.dumps([glued], indent=1)
    watch = Watch(id="deprecations", url=URL, kind="lifecycle")
    result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
    [retirement] = [fact for fact in result.facts if fact["kind"] == "retirement"]
    assert retirement["replacement"] == "veo-3.1-generate-preview"
    assert not [fact for fact in result.facts if fact["kind"] == "replacement_changed"]


def test_a_new_replacement_is_told_for_each_model_a_record_names() -> None:
    """A name field with aliases after a bar ('o1-2024-12-17 | o1') names several models: each
    gets its own replacement fact, so an inventory using the alias is reached too."""
    record = {"provider": "OpenAI", "model_name": "o1-2024-12-17 | o1", "shutdown_date": "2026-10-23",
              "replacement": "gpt-5.5", "status": "deprecated"}  # fmt: skip
    old = json.dumps([record], indent=1)
    new = json.dumps([{**record, "replacement": "gpt-5.6-sol"}], indent=1)
    watch = Watch(id="deprecations", url=URL, kind="lifecycle")
    result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
    replaced = [fact for fact in result.facts if fact["kind"] == "replacement_changed"]
    assert replaced == [
        {
            "kind": "replacement_changed",
            "model": model,
            "provider": "openai",
            "surface": "api",
            "from": "gpt-5.5",
            "to": "gpt-5.6-sol",
        }
        for model in ("o1-2024-12-17", "o1")
    ]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            'format = "docx"',
            "key 'format': Input should be 'html', 'pdf', 'feed', 'json' or 'text'",
        ),
        ('follow = "a[href$=.pdf"', "key 'follow': bad CSS selector 'a[href$=.pdf': unbalanced"),
        (
            'format = "pdf"\nid_fields = ["id"]',
            "'id_fields' applies to JSON records, not format 'pdf'",
        ),
        ('follow = "a"\nfetcher = "browser"', "'follow' needs fetcher = \"http\""),
    ],
)
def test_bad_format_keys_are_config_errors_naming_the_watch(
    tmp_path: Path, keys: str, message: str
) -> None:
    path = tmp_path / "watchlist.toml"
    path.write_text(f'[[watch]]\nid = "rsp"\nurl = "https://example.com/rsp"\n{keys}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert problem.startswith("watchlist.toml: watch 'rsp': ") and message in problem, problem


def test_format_keys_count_in_the_rules_hash_only_when_set() -> None:
    plain = Watch(id="w", url="https://example.com/")
    assert plain.rules_sha256() == extract.rules_sha256(None, (), (), "generic")
    changed = {
        Watch(id="w", url="https://example.com/", format="json").rules_sha256(),
        Watch(id="w", url="https://example.com/", id_fields=("id",)).rules_sha256(),
        Watch(id="w", url="https://example.com/", follow="a").rules_sha256(),
    }
    assert len(changed) == 3 and plain.rules_sha256() not in changed


def test_running_headers_that_change_by_chapter_go_and_numbered_content_stays() -> None:
    # printed page numbers run three behind the physical ones, as after a title page and a
    # table of contents; the heading "1 Introduction" falls on printed page 1
    pages = [["Policy manual", "Version 2.0", "Effective 1 May 2026"], ["Contents", "1 Scope"]]
    pages.append(["1 Introduction", "The manual begins here.", "1"])
    for number in range(4, 9):
        chapter = 2 if number < 6 else 3
        pages.append([f"Chapter {chapter}: Rules {number - 3}", f"Rule text {number}.", "x"])
    lines = read(text_pdf(pages)).text.split("\n")
    assert "Version 2.0 Effective 1 May 2026" in " ".join(lines)
    assert "1 Introduction The manual begins here." in lines
    assert not [line for line in lines if line.startswith("Chapter ")]


RSS_10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://lab.example/"><title>Lab</title><link>https://lab.example/</link></channel>
<item rdf:about="https://lab.example/a"><title>Paper A</title><link>https://lab.example/a</link>
<dc:date>2026-02-01T09:00:00Z</dc:date><description>About A.</description></item>
</rdf:RDF>"""
RSS_091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Lab</title>
<link>https://lab.example/</link><item><title>Paper A</title><link>https://lab.example/a</link>
<description>About A.</description></item></channel></rss>"""


@pytest.mark.parametrize(("body", "version"), [(RSS_10, "RSS 1.0"), (RSS_091, "RSS 0.91")])
def test_older_rss_versions_are_read_as_records(body: bytes, version: str) -> None:
    document = read(body, content_type="application/xml")
    assert document.format == "feed" and document.seen.endswith(
        f"{version}, 1 items keyed by guid or link"
    )
    item = json.loads(document.text.split("\n")[-2])
    assert (item["title"], item["link"], item["summary"]) == (
        "Paper A", "https://lab.example/a", "About A.",
    )  # fmt: skip


def test_a_feed_with_an_entity_expansion_bomb_stays_small_and_fast() -> None:
    entities = "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">{entities}]>'
        '<rss version="2.0"><channel><title>&j;</title><item><title>x</title>'
        "<link>https://x.example/</link></item></channel></rss>"
    )
    started = time.monotonic()
    document = read(bomb.encode())
    assert document.format == "feed" and len(document.text) < 1000  # 10**10 "a"s never made
    assert time.monotonic() - started < 10


def test_a_feed_is_decoded_by_the_http_charset() -> None:
    body = RSS_091.replace(b"Paper A", "論文 A".encode("shift_jis")).replace(
        b'<?xml version="1.0"?>', b""
    )
    document = read(body, charset="shift_jis", content_type="text/xml")
    assert '"title": "論文 A"' in document.text


def test_a_running_footer_with_the_version_is_kept_once_and_its_change_is_a_bump() -> None:
    def document(version: str) -> str:
        footer = f"Frontier Safety Framework v{version}"
        pages = [
            [f"Section {n}", f"Text of section {n}.", "Applies to all models.", footer]
            for n in range(1, 6)
        ]
        return read(text_pdf(pages)).text

    old, new = document("2.0"), document("2.1")
    assert old.count("Frontier Safety Framework v2.0") == 1
    watch = Watch(id="fsf", url=URL, kind="policy")
    result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
    assert result.labels == ("version_bump",)
    assert result.facts[0]["from"] == "2.0" and result.facts[0]["to"] == "2.1"


def test_a_raw_markdown_file_keeps_its_lines_and_front_matter() -> None:
    body = b"---\r\ntitle: Retirements\r\nms.date: 01/09/2025\r\n---\r\n\r\n| Model | Date |\r\n"
    document = read(body, content_type="text/plain; charset=utf-8")
    assert document.format == "text"
    assert document.text.split("\n")[:4] == [
        "---",
        "title: Retirements",
        "ms.date: 01/09/2025",
        "---",
    ]
    assert "| Model | Date |" in document.text.split("\n")
