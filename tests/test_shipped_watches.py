"""The shipped watchlist covers the pages this tool was made for: OpenAI's help-center notice of
GPT-4o and other models leaving ChatGPT (English and Japanese) and the Microsoft–OpenAI
partnership terms. Each watch runs, as shipped, against a local copy in the shape such pages
have (a help-center article with header, nav, breadcrumbs, meta, body, related articles,
feedback and footer; an openai.com index article with site chrome, share buttons and "keep
reading" cards), and its select/ignore keep the content and drop the chrome."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.snapshots import SnapshotStore
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response

ROOT = Path(__file__).parent.parent

HELP_CENTER = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} | OpenAI Help Center</title>
<script>window.intercomSettings = {{"app_id": "dgkjq2bp"}};</script></head>
<body>
<header id="header" class="header"><div class="header__logo"><a href="/{lang}">OpenAI Help Center</a></div>
  <form class="search"><input type="search" placeholder="{search}"></form>
  <nav class="header__links"><a href="https://openai.com">OpenAI</a> <a href="https://chatgpt.com">ChatGPT</a></nav>
</header>
<main class="main">
  <div class="breadcrumbs"><a href="/{lang}">{all_collections}</a> &gt; <a href="/{lang}/collections/3742473">ChatGPT</a></div>
  <div class="article intercom-force-break">
    <div class="article_meta"><img class="avatar" src="/a.png" alt=""><span>{updated}</span></div>
    <header><h1>{title}</h1><p class="article__desc">{desc}</p></header>
    <div class="article_body"><article>
      {body}
    </article></div>
    <div class="article_feedback"><p>{helpful}</p><button>😞</button><button>😐</button><button>😃</button></div>
  </div>
  <section class="related_articles"><h2>{related}</h2>
    <ul><li><a href="/{lang}/articles/9624314">{related_1}</a></li>
        <li><a href="/{lang}/articles/6825453">{related_2}</a></li></ul>
  </section>
</main>
<footer id="footer" class="footer"><p>© 2026 OpenAI</p><a href="/privacy">Privacy</a></footer>
</body></html>"""

EN = {
    "lang": "en-us",
    "title": "Retiring GPT-4o and other models in ChatGPT",
    "desc": "What changes in ChatGPT, and when",
    "search": "Search for articles...",
    "all_collections": "All Collections",
    "updated": "Updated this week",
    "helpful": "Did this answer your question?",
    "related": "Related Articles",
    "related_1": "Model Release Notes",
    "related_2": "ChatGPT — Release Notes",
    "body": """<p>On February 13, 2026, we will retire GPT-4o, GPT-4.1, GPT-4.1 mini and OpenAI
      o4-mini from ChatGPT.</p>
      <h2>What this means for you</h2>
      <ul><li>Conversations that used these models continue with GPT-5.2.</li>
          <li>Custom GPTs built on GPT-4o move to GPT-5.2 automatically.</li></ul>
      <h2>API</h2><p>There are no changes to the API at this time.</p>""",
}
JA = {
    "lang": "ja-jp",
    "title": "ChatGPT における GPT-4o などのモデルの提供終了",
    "desc": "ChatGPT で何がいつ変わるか",
    "search": "記事を検索...",
    "all_collections": "すべてのコレクション",
    "updated": "今週更新されました",
    "helpful": "質問に回答できましたか?",
    "related": "関連記事",
    "related_1": "モデルのリリースノート",
    "related_2": "ChatGPT — リリースノート",
    "body": """<p>2026年2月13日に、ChatGPT での GPT-4o、GPT-4.1、GPT-4.1 mini、OpenAI o4-mini
      の提供を終了します。</p>
      <h2>ご利用への影響</h2>
      <ul><li>これらのモデルを使った会話は GPT-5.2 で続きます。</li></ul>
      <h2>API</h2><p>現時点で API に変更はありません。</p>""",
}

PARTNERSHIP = """<!doctype html>
<html lang="en-US"><head><meta charset="utf-8">
<title>The next chapter of the Microsoft–OpenAI partnership | OpenAI</title>
<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}}}</script></head>
<body><div id="__next">
<header class="site-header"><a href="/">OpenAI</a>
  <nav aria-label="Main"><a href="/research/">Research</a> <a href="/safety/">Safety</a>
  <a href="/business/">For Business</a> <a href="/news/">News</a></nav>
  <button>Log in</button><button>Try ChatGPT</button></header>
<main>
  <article>
    <header><p><a href="/news/company-announcements/">Company</a></p>
      <h1>The next chapter of the Microsoft–OpenAI partnership</h1>
      <p><time datetime="2025-10-28">October 28, 2025</time></p>
      <div aria-label="Share"><button>Copy link</button><a href="https://x.com/share">Share on X</a>
      <a href="https://www.linkedin.com/share">Share on LinkedIn</a></div>
      <button>Listen to article</button>
    </header>
    <div class="prose">
      <p>Microsoft and OpenAI have signed a new definitive agreement.</p>
      <h2>What stays the same</h2>
      <ul><li>Microsoft remains OpenAI's frontier model partner and Azure API exclusivity
        continues until AGI is declared.</li></ul>
      <h2>What changes</h2>
      <ul><li>Microsoft's IP rights for models and products are extended through 2032.</li>
        <li>The revenue share continues until an expert panel verifies AGI.</li>
        <li>OpenAI can serve API customers of US national security agencies on any cloud.</li></ul>
    </div>
  </article>
  <section aria-label="Keep reading"><h2>Keep reading</h2>
    <a href="/index/built-to-benefit-everyone/"><h3>Built to benefit everyone</h3><p>Company Oct 28, 2025</p></a>
    <a href="/index/sora-2/"><h3>Sora 2 is here</h3><p>Product Sep 30, 2025</p></a>
  </section>
</main>
<footer class="site-footer"><p>OpenAI © 2015–2026</p><a href="/policies/">Terms &amp; policies</a></footer>
</div></body></html>"""

CASES = {
    "openai-help-gpt-4o-retirement": (
        "/en-us/articles/20001051",
        HELP_CENTER.format(**EN),
        [
            "# Retiring GPT-4o and other models in ChatGPT",
            "On February 13, 2026, we will retire GPT-4o, GPT-4.1, GPT-4.1 mini and OpenAI o4-mini from ChatGPT.",
            "## What this means for you",
            "- Custom GPTs built on GPT-4o move to GPT-5.2 automatically.",
            "There are no changes to the API at this time.",
        ],
        [
            "Updated this week",
            "Related Articles",
            "Model Release Notes",
            "All Collections",
            "Did this answer",
            "Search for articles",
            "© 2026",
            "Privacy",
        ],
    ),
    "openai-help-gpt-4o-retirement-ja": (
        "/ja-jp/articles/20001051",
        HELP_CENTER.format(**JA),
        [
            "# ChatGPT における GPT-4o などのモデルの提供終了",
            "2026年2月13日に、ChatGPT での GPT-4o、GPT-4.1、GPT-4.1 mini、OpenAI o4-mini の提供を終了します。",
            "## ご利用への影響",
            "現時点で API に変更はありません。",
        ],
        [
            "今週更新されました",
            "関連記事",
            "すべてのコレクション",
            "質問に回答できましたか",
            "Privacy",
        ],
    ),
    "openai-microsoft-partnership": (
        "/index/next-phase-of-microsoft-partnership/",
        PARTNERSHIP,
        [
            "# The next chapter of the Microsoft–OpenAI partnership",
            "October 28, 2025",
            "- Microsoft remains OpenAI's frontier model partner and Azure API exclusivity continues until AGI is declared.",
            "- Microsoft's IP rights for models and products are extended through 2032.",
            "- The revenue share continues until an expert panel verifies AGI.",
        ],
        [
            "Keep reading",
            "Sora 2",
            "Share on",
            "Copy link",
            "Listen to article",
            "Log in",
            "Try ChatGPT",
            "For Business",
            "Terms & policies",
        ],
    ),
}


def _shipped() -> dict[str, dict[str, object]]:
    data = tomllib.loads((ROOT / "watchlist.toml").read_text(encoding="utf-8"))
    return {w["id"]: w for w in data["watch"]}


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_the_shipped_watches_point_at_the_pages() -> None:
    shipped = _shipped()
    assert shipped["openai-help-gpt-4o-retirement"]["url"] == (
        "https://help.openai.com/en-us/articles/20001051"
    )
    assert shipped["openai-help-gpt-4o-retirement-ja"]["url"] == (
        "https://help.openai.com/ja-jp/articles/20001051"
    )
    partnership = shipped["openai-microsoft-partnership"]
    assert partnership["url"] == "https://openai.com/index/next-phase-of-microsoft-partnership/"
    assert partnership["kind"] == "policy"


@pytest.mark.parametrize("watch_id", sorted(CASES))
def test_each_shipped_watch_keeps_the_content_and_drops_the_chrome(
    tmp_path: Path,
    page_server: PageServer,
    capsys: pytest.CaptureFixture[str],
    watch_id: str,
) -> None:
    path, html, kept, dropped = CASES[watch_id]
    page_server.route(path, Response(body=html.encode("utf-8")))
    watch = dict(_shipped()[watch_id], url=page_server.url(path))
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text(
        "[[watch]]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in watch.items()),
        encoding="utf-8",
    )
    assert main(["--watchlist", str(watchlist), "check", "--no-progress"]) == 0
    capsys.readouterr()
    config = load_config(watchlist)
    [(version, _snapshot)] = queries.versions(open_engine(config.database_url), watch_id)
    text = SnapshotStore(config.snapshots_dir).get_text(version.text_sha256)
    lines = text.splitlines()
    for line in kept:
        assert line in lines, text
    for chrome in dropped:
        assert chrome not in text, chrome
