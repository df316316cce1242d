"""Feeds as records: a JSON list of objects (a scraped deprecations table) or the items of an
RSS/Atom feed. Records are matched by identity, not by position, so a reorder is no change, and
each record's fields are named by the same column roles as a table's cells.

A raw feed's item reads as the feed extractor writes it (monitor/extract/feed.py): ``title``,
``link``, ``published``, ``guid`` and ``summary`` (HTML as plain lines), so a watch that stored
the XML and one that stores the extracted records read each item alike; values stay as the feed
wrote them."""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from monitor.classify.context import Context
from monitor.classify.names import cell_models
from monitor.classify.table_diff import RowChange
from monitor.classify.tables import role
from monitor.classify.text import loose

_ITEM = re.compile(r"<(item|entry)\b[^>]{0,500}>(.*?)</\1\s*>", re.S | re.I)
_FIELD = re.compile(r"<([A-Za-z][\w:-]{0,40})\b[^>]{0,300}>(.*?)</\1\s*>", re.S)
_LINK_HREF = re.compile(r"<link\b[^>]{0,300}?\bhref=[\"']([^\"']{1,2000})[\"']", re.I)
_BLOCK_TAG = re.compile(
    r"<(?:br|/?(?:p|div|li|ul|ol|tr|h[1-6]|blockquote|pre|table))\b[^>]{0,300}>", re.I
)
_TAG = re.compile(r"<[A-Za-z/!][^>]{0,1000}>")
# within one line: a key left empty ("Model:") never takes the next line's "Key: value"
_KEY_VALUE = re.compile(r"^[ \t]*([A-Z][A-Za-z ]{1,30}):[ \t]*(.+?)[ \t]*$", re.M)
# "… models. Release date: 2025-06-17. Shutdown date: 2026-10-16. Recommended replacement: x."
# a scraped table row written as sentences, each a "Key: value" of its own
_INLINE_FIELD = re.compile(
    r"(?<=\.\s)([A-Z][a-z]+(?: [a-z]+){0,3}):\s+([^\s:][^:\n]{0,200}?)\.?(?=\s+[A-Z][a-z]+(?: [a-z]+){0,3}:\s|\s*$)",
    re.M,
)
_TITLE_FIELD = re.compile(r"\(\s*([A-Za-z][A-Za-z ]{1,30}):\s*([^():]{1,80}?)\s*\)")
# where an item's own words are: RSS description, Atom summary or content, the extractor's summary
_TEXT_FIELDS = ("summary", "description", "content", "content:encoded")
_DATE_FIELDS = ("pubdate", "published", "updated", "dc:date", "issued", "modified")
TEXT = "text"  # the role an item's own words take in by_role's cells
TEXT_FIELDS = (*_TEXT_FIELDS, TEXT)
_IDENTITY = ("guid", "id", "model_id", "model_name", "model", "name", "title", "link", "url")


@dataclass(frozen=True)
class Records:
    records: dict[str, list[dict[str, str]]]  # identity → the fields of each record it names
    lines: frozenset[int]  # line numbers the records cover


def _json_records(text: str) -> Records | None:
    stripped = text.lstrip()
    if not stripped.startswith(("[", "{")):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    first_line = 1
    if isinstance(data, dict):
        lists = [key for key, value in data.items() if isinstance(value, list)]
        if len(lists) == 1:  # the object's other fields before the list are not records
            first_line += text.count("\n", 0, max(text.find(json.dumps(lists[0]) + ":"), 0))
        data = data[lists[0]] if len(lists) == 1 else None
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        return None
    items = [_summary_fields({str(k): _text(v) for k, v in item.items()}) for item in data]
    return Records(_keyed(items), frozenset(range(first_line, text.count("\n") + 2)))


def record_of_line(line: str) -> dict[str, str] | None:
    """A record the extractor wrote on one line of a JSON text ('{"model": …},'), its fields by
    role as record_changes reads them; None for any other line."""
    text = line.strip().rstrip(",")
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return by_role(_summary_fields({str(k): _text(v) for k, v in data.items()}))


def item_text(fields: dict[str, str]) -> str:
    """A record's own words, whichever field of a feed item or JSON record carries them."""
    return next((fields[name] for name in _TEXT_FIELDS if fields.get(name)), "")


def item_prose(text: str) -> list[str]:
    """An item's own words, one logical line each: a line that starts in lower case carries on
    the one before (a sentence wrapped in the feed's source, whole in the extractor's), and of a
    "Key: value" line only the value counts ("Deprecation announcement: X will be shut down…")."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if lines and line[:1].islower():
            lines[-1] += " " + line
        elif line:
            lines.append(line)
    return [found.group(2) if (found := _KEY_VALUE.match(line)) else line for line in lines]


_EMPTY_KEY = re.compile(r"^[ \t]*[A-Z][A-Za-z ]{1,30}:[ \t]*$")


def item_prose_only(text: str) -> list[str]:
    """An item's own words without its "Key: value" header lines (each is a field of its own),
    a header left without its value ("Model:") among them."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not _KEY_VALUE.match(line) and not _EMPTY_KEY.match(line)
    ]


_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*$")


def same_excerpt(old: str, new: str) -> bool:
    """Two excerpts of one text cut at different lengths ("… model ..." and "… model ac...")."""
    if not (_ELLIPSIS.search(old) and _ELLIPSIS.search(new)):
        return False
    a, b = (loose(_ELLIPSIS.sub("", text)).split()[:-1] for text in (old, new))
    short, long = sorted((a, b), key=len)
    return bool(short) and long[: len(short)] == short


def _summary_fields(fields: dict[str, str]) -> dict[str, str]:
    """A feed item's "Key: value" lines in its description or summary, and the "(key: value)"
    its title carries ("Deprecation of X (shutdown: 2026-04-30)"), as fields of their own."""
    text = item_text(fields)
    found = _KEY_VALUE.findall(text) + _TITLE_FIELD.findall(fields.get("title", ""))
    found += _INLINE_FIELD.findall(text)
    for key, value in found:
        fields.setdefault(key.strip().lower().replace(" ", "_"), value)
    return fields


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _plain(value: str) -> str:
    """An item's HTML text as plain lines, one block a line, as the feed extractor writes it."""
    if not _TAG.search(value):
        return value
    if not _BLOCK_TAG.search(value):  # text with inline markup ("<Note> …"): its lines stay
        return "\n".join(
            line for raw in html.unescape(_TAG.sub("", value)).splitlines() if (line := raw.strip())
        )
    text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", " ".join(value.split()))))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _feed_item(raw: str) -> dict[str, str]:
    """One raw <item> or <entry> as the extractor's record: its title, link, date, guid and text;
    other elements are dropped, as the extractor drops them."""
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(raw):
        value = html.unescape(re.sub(r"<!\[CDATA\[|\]\]>", "", value)).strip()
        fields.setdefault(name.lower(), value)
    href = _LINK_HREF.search(raw)
    link = fields.get("link") or (html.unescape(href.group(1)) if href else "")
    date = next((fields[name] for name in _DATE_FIELDS if fields.get(name)), "")
    guid = fields.get("guid") or fields.get("id") or ""
    record = {
        "title": " ".join(fields.get("title", "").split()),
        "link": link,
        "published": date,
        "summary": _plain(next((fields[name] for name in _TEXT_FIELDS if fields.get(name)), "")),
    }
    if guid and guid != link:
        record["guid"] = guid
    return dict(sorted(record.items()))  # in the order the extractor writes its keys


def _feed_records(text: str) -> Records | None:
    if "<rss" not in text[:2000] and "<feed" not in text[:2000]:
        return None
    items: list[dict[str, str]] = []
    covered: set[int] = set()
    line, offset = 1, 0
    for match in _ITEM.finditer(text):
        items.append(_summary_fields(_feed_item(match.group(2))))
        line += text.count("\n", offset, match.start())
        offset = match.start()
        covered.update(range(line, line + match.group(0).count("\n") + 1))
    if not items:
        return None
    return Records(_keyed(items), frozenset(covered))


def _keyed(items: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    fields = [f for f in _IDENTITY if sum(1 for item in items if item.get(f)) >= 0.9 * len(items)]
    if "provider" in items[0]:
        fields = ["provider", *fields[:1]]
    else:
        fields = fields[:1]
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for item in items:
        key = " / ".join(item.get(f, "") for f in fields) or json.dumps(item, sort_keys=True)
        out[key].append(item)
    return dict(out)


def _paired(
    olds: list[dict[str, str]], news: list[dict[str, str]]
) -> list[tuple[dict[str, str] | None, dict[str, str] | None]]:
    """The records of one identity, old and new, paired: equal ones first, whatever their order,
    then the rest in order; an unpaired one stands alone as added or removed."""
    unmatched_old = list(olds)
    unmatched_new = []
    for record in news:
        if record in unmatched_old:
            unmatched_old.remove(record)
        else:
            unmatched_new.append(record)
    pairs: list[tuple[dict[str, str] | None, dict[str, str] | None]] = []
    for index in range(max(len(unmatched_old), len(unmatched_new))):
        before = unmatched_old[index] if index < len(unmatched_old) else None
        after = unmatched_new[index] if index < len(unmatched_new) else None
        pairs.append((before, after))
    return pairs


def parse_records(text: str) -> Records | None:
    return _json_records(text) or _feed_records(text)


def by_role(fields: dict[str, str]) -> dict[str, str]:
    """A record's fields with lifecycle roles named as a table's cells are."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        label = name.replace("_", " ")
        found = "provider" if name == "provider" else role(label)
        if name in ("title",) and "model" not in out:
            found = "title"
        if found and found not in out:
            out[found] = value
        elif found == "model" and "model_id" not in out:
            out["model_id"] = value  # "Model ID: gemini-2.0-flash-exp" and "Model: Gemini 2.0…"
        elif name not in out:
            out[name] = value
    if item_text(fields):
        out[TEXT] = item_text(fields)
    if not out.get("model"):
        for name in ("model_id", "model_name", "model id", "title"):
            if fields.get(name):
                out["model"] = fields[name]
                break
    return out


_VERSION_QUALIFIER = re.compile(r":\d+$")


def _requalified(old: dict[str, str], new: dict[str, str]) -> bool:
    """One id is the other with a version qualifier put on or taken off its end
    ("…-premier-v1" → "…-premier-v1:0"), every date the same: the record re-keyed."""
    a, b = old.get("model", ""), new.get("model", "")
    shorter, longer = sorted((a, b), key=len)
    tail = longer[len(shorter) :]
    same_dates = all(old.get(k) == new.get(k) for k in ("shutdown", "deprecated"))
    return (
        bool(shorter)
        and longer.startswith(shorter)
        and bool(_VERSION_QUALIFIER.fullmatch(tail))
        and same_dates
    )


def _named_by(old: dict[str, str], new: dict[str, str]) -> bool:
    """The new record's own words name the old record's model by the name it was keyed by
    ("Model ID: Claude 3.5 Sonnet v1" → "Model ID anthropic.claude-3-5-sonnet-20240620-v1:0.
    (Claude 3.5 Sonnet v1)"), every date the same: the record re-keyed from a name to an id."""
    name, text = old.get("model", ""), new.get(TEXT, "")
    if not name or name == new.get("model") or not text:
        return False
    bounded = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w.]\w)", re.I)
    same_dates = all(old.get(k) == new.get(k) for k in ("shutdown", "deprecated"))
    return same_dates and bool(old.get("shutdown")) and bool(bounded.search(text))


def _completed(a: str, b: str) -> bool:
    """One name is the other with one run of digits put in or taken out inside it (a number
    written in full: "…-preview-09-25" → "…-preview-09-2025"): a name corrected in place. A run
    at the end, or of letters ("gemini-2.5-pro" → "gemini-2.5-pro-exp-03-25", "gpt-4" →
    "gpt-4o"), names another model."""
    if a == b or min(len(a), len(b)) < 5:
        return False
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    edits = [op for op in ops if op[0] != "equal"]
    if len(edits) != 1 or edits[0][0] not in ("insert", "delete"):
        return False
    _, i1, i2, j1, j2 = edits[0]
    run, at, longer = (b[j1:j2], j1, b) if i1 == i2 else (a[i1:i2], i1, a)
    inside = 0 < at and at + len(run) < len(longer)
    return inside and run.isdigit()


def _renamed(changes: list[RowChange], removed: list[RowChange]) -> list[RowChange]:
    """A record removed and one added by the same provider whose names differ by one run of
    characters put in or taken out: the same record renamed, read as one changed record."""
    out, left = [], list(removed)
    for change in changes:
        if change.kind == "added" and change.new is not None:
            twin = next(
                (
                    gone
                    for gone in left
                    if gone.old is not None
                    and gone.old.get("provider") == change.new.get("provider")
                    and (
                        _completed(gone.old.get("model", ""), change.new.get("model", ""))
                        or _requalified(gone.old, change.new)
                        or _named_by(gone.old, change.new)
                    )
                ),
                None,
            )
            if twin is not None:
                left.remove(twin)
                change = RowChange("changed", twin.old, change.new)
        out.append(change)
    return out + left


def record_changes(ctx: Context) -> tuple[list[RowChange], frozenset[int], frozenset[int]] | None:
    """Records added, removed or changed, and the old and new line numbers they cover; None when
    the texts are not feeds. Computed once per context."""
    if "records" in ctx.memo:
        return ctx.memo["records"]  # type: ignore[no-any-return]
    old, new = parse_records(ctx.old_text), parse_records(ctx.new_text)
    result = None
    if old is not None and new is not None:
        changes = []
        removed = []
        for key in [*new.records, *(k for k in old.records if k not in new.records)]:
            for before, after in _paired(old.records.get(key, []), new.records.get(key, [])):
                if before is None and after is not None:
                    cells = by_role(after)
                    # a feed of deprecations: items carry a shutdown field and no state
                    notice = "shutdown" in cells and "status" not in cells
                    changes.append(RowChange("added", None, cells, deprecation_table=notice))
                elif after is None and before is not None:
                    removed.append(RowChange("removed", by_role(before), None))
                elif before is not None and after is not None:
                    changes.append(RowChange("changed", by_role(before), by_role(after)))
        result = (_renamed(changes, removed), old.lines, new.lines)
    ctx.memo["records"] = result
    return result


def deprecations_feed(ctx: Context) -> bool:
    """The old feed lists deprecations: most of its records carry a shutdown field and none a
    state (each record there is a notice), unlike a list of models with a date on a few."""
    if "deprecations_feed" not in ctx.memo:
        old = parse_records(ctx.old_text)
        fields = [by_role(f) for same in (old.records.values() if old else ()) for f in same]
        dated = sum("shutdown" in cells for cells in fields)
        stateless = not any("status" in cells for cells in fields)
        ctx.memo["deprecations_feed"] = stateless and dated * 2 > len(fields)
    return bool(ctx.memo["deprecations_feed"])


def listed_models(ctx: Context) -> set[str] | None:
    """The models the old feed's records list (a model named only in another record's words,
    as its replacement, is not listed yet); None when the texts are not feeds."""
    if "listed_models" not in ctx.memo:
        old = parse_records(ctx.old_text) if record_changes(ctx) is not None else None
        ctx.memo["listed_models"] = (
            None
            if old is None
            else {
                model
                for same in old.records.values()
                for fields in same
                for model in cell_models(by_role(fields), names=True)
            }
        )
    return ctx.memo["listed_models"]  # type: ignore[no-any-return]
