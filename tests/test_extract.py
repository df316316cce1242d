"""extract: golden pages, decoding, selection, noise removal, text format, URLs, JS shells.

Golden files: tests/fixtures/extract/cases.json describes each page and its watch rules; the
expected text is tests/fixtures/extract/<case>.txt. Run with UPDATE_GOLDEN=1 to rewrite them
(then review the diff before committing).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from monitor import extract
from monitor.errors import ExtractError
from monitor.extract import (
    EXTRACT_VERSION,
    clean_url,
    decode_html,
    extract_text,
    looks_like_js_shell,
    rules_sha256,
    selector_problem,
)

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
CASES: dict[str, dict[str, Any]] = json.loads((FIXTURES / "cases.json").read_text("utf-8"))
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
URL = "https://example.com/docs/page"


def assert_golden(path: Path, actual: str) -> None:
    if UPDATE_GOLDEN:
        path.write_text(actual + "\n", encoding="utf-8", newline="")
    assert actual + "\n" == path.read_text(encoding="utf-8")


def run_case(name: str) -> str:
    case = CASES[name]
    return extract_text(
        (FIXTURES / case["page"]).read_bytes(),
        charset=case.get("charset"),
        base_url=case["url"],
        select=case.get("select"),
        ignore=case.get("ignore", ()),
        ignore_text=case.get("ignore_text", ()),
        kind=case.get("kind", "generic"),
    )


def text_of(html: str, **kwargs: Any) -> str:
    kwargs.setdefault("charset", "utf-8")
    kwargs.setdefault("base_url", URL)
    return extract_text(html.encode("utf-8"), **kwargs)


# --- golden pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    assert_golden(FIXTURES / f"{name}.txt", run_case(name))


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_bytes_give_same_text(name: str) -> None:
    assert run_case(name).encode() == run_case(name).encode()


def test_shift_jis_page_reads_the_same_as_its_utf8_copy() -> None:
    text = run_case("help-retirement-ja-sjis")
    assert text == run_case("help-retirement-ja-utf8")
    assert "| GPT-4o | 2026年2月13日 | GPT-5.2 |" in text
    assert "1. ① 設定 ＞ パーソナライズ を開きます。" in text  # cp932-only ①, full-width space


def test_iso_8859_1_label_decodes_as_windows_1252() -> None:
    text = run_case("windows-1252-quotes")
    assert "“Version 2”" in text and "provider’s" in text and "€0.02" in text and "call…" in text
    assert run_case("windows-1252-header") == text


def test_tokens_and_nonces_never_reach_the_text() -> None:
    text = run_case("nonces-tokens")
    assert "SECRET" not in text
    assert "Collapsed answer" in text  # hidden="until-found" is content a reader can open


def test_crossed_out_text_stays_marked_as_crossed_out() -> None:
    html = (
        "<main><p>Shut down on <del>March 1, 2026</del> <s>April 1</s> May 5, 2026.</p>"
        "<table><tr><th>Model</th><th>Shutdown</th></tr>"
        "<tr><td>m-1</td><td><strike>2026-02-05</strike> 2026-05-05</td></tr></table></main>"
    )
    assert text_of(html).splitlines() == [
        "Shut down on ~~March 1, 2026~~ ~~April 1~~ May 5, 2026.",
        "| Model | Shutdown |",
        "| m-1 | ~~2026-02-05~~ 2026-05-05 |",
    ]


def test_policy_page_drops_chrome_and_keeps_structure() -> None:
    text = run_case("rsp-policy")
    for noise in ("Research", "Careers", "cookies", "Skip to", "© 2025", "Updated 3 days", "Draft"):
        assert noise not in text
    assert "On this page" not in text and "Related" not in text  # nav and aside inside main
    assert text.splitlines()[:2] == [
        "# Usage Policy",
        "Version 3.0 · Effective September 15, 2025 · Previous Version",
    ]


# --- determinism ----------------------------------------------------------------------------


def test_attribute_order_and_quoting_do_not_matter() -> None:
    one = '<main><p class="a" id="x" data-k="1">Hello <a href="/a" title="t">there</a></p></main>'
    two = "<main><p data-k=1 id='x' class=a>Hello <a title=t href='/a'>there</a></p></main>"
    assert (
        text_of(one, kind="index")
        == text_of(two, kind="index")
        == "Hello [there](https://example.com/a)"
    )


def test_many_pages_extract_identically_in_any_order() -> None:
    names = sorted(CASES)
    first = {name: run_case(name) for name in names}
    random.Random(7).shuffle(names)
    assert {name: run_case(name) for name in names} == first


# --- decoding -------------------------------------------------------------------------------


def test_header_charset_is_used_first() -> None:
    body = '<meta charset="utf-8"><p>“x”</p>'.encode("cp1252")
    assert "“x”" in decode_html(body, "windows-1252")


def test_bom_wins_and_is_stripped() -> None:
    assert decode_html(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "iso-8859-1") == "<p>café</p>"
    assert decode_html("<p>é</p>".encode("utf-16"), None) == "<p>é</p>"


@pytest.mark.parametrize(
    ("declaration", "codec"),
    [
        ('<meta charset="Shift_JIS">', "cp932"),
        ("<meta charset=shift-jis>", "cp932"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=EUC-JP">', "euc_jp"),
        ("<META HTTP-EQUIV='content-type' CONTENT='text/html;charset=windows-31j'>", "cp932"),
        ('<meta charset="latin1">', "cp1252"),
    ],
)
def test_meta_charset_in_the_first_4kb(declaration: str, codec: str) -> None:
    text = {"cp932": "<p>提供終了 ～ ①</p>", "euc_jp": "<p>提供終了のお知らせ</p>"}.get(
        codec, "<p>“quoted”</p>"
    )
    body = (f"<!doctype html><head>{declaration}</head>" + text).encode(codec)
    assert text in decode_html(body, None)


def test_meta_after_4kb_is_not_seen_and_utf8_is_assumed() -> None:
    body = b"<!-- " + b"x" * 5000 + b' --><meta charset="shift_jis"><p>\x82\xa0</p>'
    assert decode_html(body, None).endswith("<p>\ufffd\ufffd</p>")


def test_undeclared_bytes_default_to_utf8_with_replacement() -> None:
    assert decode_html(b"<p>ok \xff</p>", None) == "<p>ok \ufffd</p>"


def test_unknown_or_binary_labels_are_ignored() -> None:
    assert decode_html("<p>é</p>".encode(), "x-made-up") == "<p>é</p>"
    assert decode_html("<p>é</p>".encode(), "base64") == "<p>é</p>"


def test_utf16_meta_label_means_utf8() -> None:
    body = '<meta charset="utf-16"><p>é</p>'.encode()
    assert decode_html(body, None).endswith("<p>é</p>")


# --- selectors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "selector", ["main", "article.post > h2", "#model-status + table", "a[href^='/x']", "p:not(.a)"]
)
def test_valid_selectors_have_no_problem(selector: str) -> None:
    assert selector_problem(selector) is None


@pytest.mark.parametrize(
    ("selector", "why"),
    [
        ("div[", "unbalanced '[' and ']'"),
        ("div)", "unbalanced '(' and ')'"),
        ("div,,p", "an empty item in the selector list (',,')"),
        ("+ p", "nothing before the leading '+'"),
        ("", "the selector is empty"),
        ("   ", "the selector is empty"),
        ("div >", "nothing after the final '>'"),
        ("p:nope", "unknown or unsupported pseudo-class ':nope'"),
        ("p::before", "pseudo-elements such as '::before' are not supported"),
    ],
)
def test_bad_selectors_are_explained_in_one_line(selector: str, why: str) -> None:
    assert selector_problem(selector) == f"bad CSS selector {selector!r}: {why}"


def test_bad_select_raises_extract_error() -> None:
    with pytest.raises(ExtractError, match=r"^bad CSS selector 'div\[': "):
        text_of("<p>x</p>", select="div[")
    with pytest.raises(ExtractError, match=r"^bad CSS selector 'p:nope'"):
        text_of("<p>x</p>", ignore=["p:nope"])


def test_select_matching_nothing_names_selector_and_url() -> None:
    with pytest.raises(ExtractError) as caught:
        text_of("<main><p>x</p></main>", select="#policy")
    assert str(caught.value) == (
        f"selector '#policy' matched nothing on {URL}; check the page or the watch's select"
    )


def test_default_selection_prefers_main_then_article_then_body() -> None:
    assert text_of("<p>out</p><main><p>in main</p></main><article>art</article>") == "in main"
    assert text_of("<p>out</p><article><p>a1</p></article><article>a2</article>") == "a1\na2"
    assert text_of("<div><p>body text</p></div>") == "body text"


def test_several_selected_nodes_come_in_document_order_without_repeats() -> None:
    html = "<main><h2>One</h2><p>first</p><div class=x><p>second</p></div><h2>Two</h2></main>"
    assert text_of(html, select="p, h2, .x") == "## One\nfirst\nsecond\n## Two"


def test_landmarks_are_dropped_unless_selected() -> None:
    html = (
        "<body><header><nav><a href=/>Home</a></nav></header>"
        "<div><article><header><h1>Title</h1></header><p>Body</p><footer>By Ann</footer></article>"
        "<aside>Related</aside></div><footer>Site footer</footer></body>"
    )
    assert text_of(html, select="body") == "# Title\nBody\nBy Ann"
    assert text_of(html, select="nav") == "Home"
    assert text_of(html, select="aside") == "Related"


def test_hidden_elements_are_dropped() -> None:
    html = (
        '<main><p>shown</p><p hidden>gone</p><span aria-hidden="true">icon</span>'
        '<span aria-hidden="false">kept</span><p style="color:red">styled</p></main>'
    )
    assert text_of(html) == "shown\nkept\nstyled"


def test_ignore_selectors_drop_elements() -> None:
    html = "<main><div class=banner>Sale!</div><p>Policy</p><p id=ts>Fetched 10:31</p></main>"
    assert text_of(html, ignore=[".banner", "#ts"]) == "Policy"


def test_ignore_text_removes_spans_and_lines_left_empty() -> None:
    html = (
        "<main><p>Updated 3 days ago</p><p>Version 3.0 (updated 2 hours ago)</p>"
        "<ul><li>Updated 5 days ago</li><li>kept</li></ul></main>"
    )
    text = text_of(html, ignore_text=[r"(?i)\(?updated \d+ (?:days?|hours?) ago\)?"])
    assert text == "Version 3.0\n- kept"


def test_ignore_text_bad_regex_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match="bad ignore_text regex"):
        text_of("<p>x</p>", ignore_text=["(unclosed"])


def test_content_shorter_than_min_length_is_an_error() -> None:
    with pytest.raises(ExtractError, match=r"^content empty or too short on .*: 5 characters"):
        text_of("<main><p>short</p></main>", min_length=50)
    with pytest.raises(ExtractError, match=r"^content empty"):
        text_of("<main><script>only()</script></main>")
    assert text_of("<main><p>short</p></main>", min_length=5) == "short"


# --- text format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>using <code>chatgpt-4o-latest</code> model</p>", "using chatgpt-4o-latest model"),
        ("<p><b>GPT</b>-4o and <i>o</i>3</p>", "GPT-4o and o3"),
        ("<p>a<span> b </span>c</p>", "a b c"),
        ("<p>  lots \n\t of   space  </p>", "lots of space"),
        ("<p>line one<br>line two<br/></p>", "line one\nline two"),
        ("<p>one</p>two<div>three</div>", "one\ntwo\nthree"),
        ("<p>x<sup>1</sup> and H<sub>2</sub>O</p>", "x^1 and H2O"),
        ("<p>a&nbsp;b\u202fc\u200bd\u00ade\ufefff\u2060g</p>", "a b cdefg"),
        ("<p>cafe\u0301</p>", "café"),  # NFC
        ("<p>GPT\u20115</p>", "GPT-5"),
        ("<p>a<!-- comment -->b</p>", "ab"),
    ],
)
def test_inline_spacing_and_normalisation(html: str, expected: str) -> None:
    assert text_of(html) == expected


def test_headings_lists_quotes_and_pre() -> None:
    html = """<main>
      <h1>Title</h1><h3>Deep <em>heading</em><br>continued</h3>
      <ul><li>one<ul><li>one.a<ol><li>deep</li></ol></li></ul></li><li><p>two</p><p>more</p></li></ul>
      <ol start="3"><li>three</li><li value="7">seven</li><li>eight</li></ol>
      <blockquote><p>quoted</p><blockquote>twice</blockquote></blockquote>
      <pre>  indented
\tline

last</pre></main>"""
    assert text_of(html) == (
        "# Title\n### Deep heading continued\n"
        "- one\n  - one.a\n    1. deep\n- two\n  more\n"
        "3. three\n7. seven\n8. eight\n"
        "> quoted\n> > twice\n"
        "  indented\n\tline\nlast"
    )


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<ul><li><blockquote>q</blockquote></li></ul>", "- > q"),
        ("<blockquote><ul><li>x<p>y</p></li></ul></blockquote>", "> - x\n>   y"),
        ("<ul><li>a</li><ul><li>b</li></ul></ul>", "- a\n  - b"),  # list directly in a list
        ("<ul><li><ul><li>x</li></ul></li></ul>", "  - x"),
        ("<ol><li>a<ol><li>b</li></ol></li><li>c</li></ol>", "1. a\n  1. b\n2. c"),
        ("<ul><li></li><li>only</li></ul>", "- only"),
    ],
)
def test_nested_prefixes(html: str, expected: str) -> None:
    assert text_of(html) == expected


def test_selected_list_items_keep_their_marker() -> None:
    assert text_of("<ol><li>a</li><li>b</li></ol>", select="li") == "- a\n- b"


def test_closed_dialog_is_dropped_open_one_kept() -> None:
    html = "<main><dialog>Accept cookies?</dialog><dialog open>Notice</dialog><p>Body</p></main>"
    assert text_of(html) == "Notice\nBody"


def test_table_rows_cells_and_spans() -> None:
    html = """<main><table><caption>Status</caption>
      <thead><tr><th>Model</th><th>Shutdown</th><th>Replacement</th></tr></thead>
      <tbody>
        <tr><td rowspan="2">2026-06-15</td><td><p>claude-opus-4</p></td><td>Opus  4.8</td></tr>
        <tr><td>a | b</td><td>x<br>y</td></tr>
        <tr><td colspan="2">wide</td><td>z</td></tr>
        <tr><td></td><td></td><td></td></tr>
      </tbody></table></main>"""
    assert text_of(html) == (
        "Status\n"
        "| Model | Shutdown | Replacement |\n"
        "| 2026-06-15 | claude-opus-4 | Opus 4.8 |\n"
        "| 2026-06-15 | a \\| b | x y |\n"
        "| wide | | z |"
    )


def test_a_cell_of_text_alone_reads_as_a_cell_with_markup() -> None:
    """Cells holding only text take a shorter road than cells with elements: same words."""
    cell = " GPT\u20115&nbsp;mini\u00ad\u200b \n  (2025) |  x "
    plain = text_of(f"<table><tr><td>{cell}</td><td>a<!-- c -->b</td></tr></table>")
    marked = text_of(f"<table><tr><td><span>{cell}</span></td><td><i>a</i>b</td></tr></table>")
    assert plain == marked == "| GPT-5 mini (2025) \\| x | ab |"


def test_nested_table_is_flattened_into_its_cell() -> None:
    inner = "<table><tr><td>in1</td><td>in2</td></tr></table>"
    html = f"<table><tr><td>outer</td><td>{inner}</td></tr></table>"
    assert text_of(html) == "| outer | in1 in2 |"


def test_links_written_only_for_index_watches() -> None:
    html = '<main><p>See <a href="/b?utm_source=x">the <b>notes</b></a>.</p></main>'
    assert text_of(html) == "See the notes."
    assert text_of(html, kind="index") == "See [the notes](https://example.com/b)."


def test_link_wrapping_blocks_links_each_block() -> None:
    html = (
        '<main><a href="/p/1"><h3>Title</h3><p>Summary</p></a><a href="/x"><img alt=""></a></main>'
    )
    assert text_of(html, kind="index") == (
        "### [Title](https://example.com/p/1)\n[Summary](https://example.com/p/1)"
    )


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/a?utm_source=x&utm_medium=y", "https://example.com/a"),
        ("/a?page=2&gclid=abc&fbclid=def", "https://example.com/a?page=2"),
        ("/a?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&ref_src=twsrc%5Etfw", "https://example.com/a"),
        (
            "/a?openaicom-did=3f1b9a52-8c4e-4d7a-9b1e-2a6f0c8d7e41&openaicom_referred=true",
            "https://example.com/a?openaicom_referred=true",
        ),
        ("/a?sid=0123456789abcdef0123", "https://example.com/a"),
        ("/a?t=Q2xhdWRlT3B1czRTb25uZXQ0Mg", "https://example.com/a"),
        ("/a?model=claude-3-opus-20240229&id=1234567890123456789", None),
        ("/research/6a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b/", "https://example.com/research/{id}/"),
        ("../up#frag", "https://example.com/up#frag"),
        ("x#:~:text=foo", "https://example.com/docs/x"),
        ("HTTPS://EXAMPLE.com/Path", "https://example.com/Path"),
        ("mailto:safety@example.com", "mailto:safety@example.com"),
        (
            "/a?title=Introducing-Claude-4-Models",
            "https://example.com/a?title=Introducing-Claude-4-Models",
        ),  # fmt: skip
        ("/a?mkt_tok=NzUyLVBKQS0wOTMAAAGQ&x=1", "https://example.com/a?x=1"),
        ("/a?k=Zx_9Kq-3LmP0wQ7rT2yU8v", "https://example.com/a"),
        (" /docs/a b\n/c ", "https://example.com/docs/a%20b/c"),
        ("http://[::1/broken", None),
        ("javascript:void(0)", None),
        ("  ", None),
    ],
)
def test_clean_url(href: str, expected: str | None) -> None:
    if expected is None and href.startswith("/a?model"):
        expected = "https://example.com" + href  # ordinary values are kept untouched
    assert clean_url(href, URL) == expected


def test_index_links_resolve_against_base_href() -> None:
    text = run_case("research-index")
    assert "[Introducing GPT-5.2](https://openai.com/index/introducing-gpt-5-2/" in text
    assert "(https://openai.com/news/system-cards/o3-system-card)" in text
    for tracking in ("utm_", "gclid", "fbclid", "openaicom-did", "mc_cid", "_hsenc", "ref_src"):
        assert tracking not in text
    assert "javascript" not in text


# --- rules hash -----------------------------------------------------------------------------


def test_rules_sha256_is_stable_and_sensitive_to_every_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = rules_sha256("main", [".a", ".b"], ["x"], "policy")
    assert base == rules_sha256("main", (".a", ".b"), ("x",), "policy")
    assert len(base) == 64 and int(base, 16) >= 0
    assert base == rules_sha256("main", [".b", ".a"], ["x"], "policy")  # ignore order: no effect
    variants = {
        rules_sha256(None, [".a", ".b"], ["x"], "policy"),
        rules_sha256("main", [".a"], ["x"], "policy"),
        rules_sha256("main", [".a", ".b"], ["y"], "policy"),
        rules_sha256("main", [".a", ".b"], ["x"], "index"),
    }
    assert base not in variants and len(variants) == 4
    monkeypatch.setattr(extract, "EXTRACT_VERSION", EXTRACT_VERSION + 1)
    assert rules_sha256("main", [".a", ".b"], ["x"], "policy") != base


# --- JavaScript shells ----------------------------------------------------------------------


def test_js_shell_is_recognised() -> None:
    assert looks_like_js_shell((FIXTURES / "js-shell.html").read_bytes(), None)


@pytest.mark.parametrize(
    "html",
    [
        '<body><div id="__next"></div><script src="/app.js"></script></body>',
        '<body><div id="app">   </div><p>Loading…</p></body>',
        '<body><div data-reactroot=""></div></body>',
        "<body><p>Please enable JavaScript to view this page.</p></body>",
        "<body><noscript>JavaScript を有効にしてください。</noscript></body>",
    ],
)
def test_shell_variants(html: str) -> None:
    assert looks_like_js_shell(html.encode(), "utf-8")


@pytest.mark.parametrize("name", ["rsp-policy", "deprecations-table", "nonces-tokens"])
def test_content_pages_are_not_shells(name: str) -> None:
    assert not looks_like_js_shell((FIXTURES / CASES[name]["page"]).read_bytes(), None)


def test_long_page_with_a_noscript_notice_is_not_a_shell() -> None:
    html = (
        "<body><noscript>Enable JavaScript</noscript><div id=root></div>" + "<p>more text</p>" * 80
    )
    assert not looks_like_js_shell(html.encode(), None)


# --- speed ----------------------------------------------------------------------------------


def large_page(size: int = 150_000) -> bytes:
    """A docs page of about `size` bytes: scripts, navigation, sections of prose, lists, tables."""
    rng = random.Random(1)
    words = (
        "model policy safety capability threshold deployment evaluation retirement "
        "shutdown replacement version effective date commitment"
    ).split()

    def prose(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    parts = ['<html><head><meta charset="utf-8">']
    parts += [
        f"<script>window.d{i}={{nonce:'{i}'}}</script><style>.c{i}{{}}</style>" for i in range(20)
    ]
    parts.append("<body><header><nav>")
    parts += [f'<a href="/n{i}?utm_source=x">Nav {i}</a>' for i in range(60)]
    parts.append("</nav></header><main>")
    section = 0
    while sum(map(len, parts)) < size:
        section += 1
        parts.append(f'<section><h2>Section {section} <a href="#s" aria-hidden="true">#</a></h2>')
        parts.append(
            f"<p>{prose(40)} <code>gpt-4o-{section}</code> "
            f'<a href="/d/{section}">{prose(3)}</a>.</p>'
        )
        parts.append(
            "<ul>" + "".join(f"<li><span>{prose(8)}</span></li>" for _ in range(5)) + "</ul>"
        )
        rows = "".join(
            f"<tr><td><code>m-{section}-{j}</code></td>"
            f"<td>2026-0{j + 1}-01</td><td>{prose(2)}</td></tr>"
            for j in range(4)
        )
        parts.append(
            f"<table><tr><th>Model</th><th>Shutdown</th><th>Replacement</th></tr>{rows}</table></section>"
        )
    parts.append(f"</main><footer>{prose(50)}</footer></body></html>")
    return "".join(parts).encode()


def test_a_150kb_page_extracts_quickly() -> None:
    body = large_page()
    assert len(body) >= 150_000
    extract_text(body, charset=None, base_url=URL, kind="index")
    started = time.perf_counter()
    for _ in range(5):
        text = extract_text(body, charset=None, base_url=URL, kind="index")
    per_page = (time.perf_counter() - started) / 5
    assert text.count("\n## Section") > 50
    assert per_page < 0.5, f"{per_page * 1000:.0f} ms for a 150 KB page"


# --- messy input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        b"<html><body>" + b"<div>" * 20_000 + b"deep" + b"</div>" * 20_000,
        b"<table><tr><td rowspan=abc colspan=-5>a</td><td rowspan=99999>b</td></tr><tr></table>",
        b"<ul><li><ol start=x><li value=y>item</ol></ul><p>unclosed <b><i>tags",
        b"<a href='http://[::1'>broken link</a><a href='  '>blank</a>",
        b"<p>" + b"word " * 50_000 + b"</p>",
    ],
)
def test_messy_pages_never_raise_anything_but_extract_error(body: bytes) -> None:
    for kind in ("generic", "index"):
        try:
            text = extract_text(body, charset=None, base_url=URL, kind=kind)
        except ExtractError as exc:
            assert str(exc).startswith("content empty")
        else:
            assert all(line.strip() and line == line.rstrip() for line in text.split("\n"))
