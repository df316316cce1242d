"""Feeds as records: a JSON list of objects (a scraped deprecations table) or the items of an
RSS/Atom feed. Records are matched by identity, not by position, so a reorder is no change, and
each record's fields are named by the same column roles as a table's cells."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from monitor.classify.context import Context
from monitor.classify.tables import RowChange, role

_ITEM = re.compile(r"<(item|entry)\b[^>]{0,500}>(.*?)</\1\s*>", re.S | re.I)
_FIELD = re.compile(r"<([A-Za-z][\w:-]{0,40})\b[^>]{0,300}>(.*?)</\1\s*>", re.S)
_KEY_VALUE = re.compile(r"^\s*([A-Z][A-Za-z ]{1,30}):\s*(.+?)\s*$", re.M)
_IDENTITY = ("guid", "id", "model_id", "model_name", "model", "name", "title", "link", "url")


@dataclass(frozen=True)
class Records:
    records: dict[str, dict[str, str]]  # identity → fields
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


def _summary_fields(fields: dict[str, str]) -> dict[str, str]:
    """A feed item's "Key: value" lines in its description or summary, as fields of their own."""
    for key, value in _KEY_VALUE.findall(fields.get("description") or fields.get("summary") or ""):
        fields.setdefault(key.strip().lower().replace(" ", "_"), value)
    return fields


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _feed_records(text: str) -> Records | None:
    if "<rss" not in text[:2000] and "<feed" not in text[:2000]:
        return None
    items: list[dict[str, str]] = []
    covered: set[int] = set()
    line, offset = 1, 0
    for match in _ITEM.finditer(text):
        fields = {
            name.lower(): html.unescape(re.sub(r"<!\[CDATA\[|\]\]>", "", value)).strip()
            for name, value in _FIELD.findall(match.group(2))
        }
        items.append(_summary_fields(fields))
        line += text.count("\n", offset, match.start())
        offset = match.start()
        covered.update(range(line, line + match.group(0).count("\n") + 1))
    if not items:
        return None
    return Records(_keyed(items), frozenset(covered))


def _keyed(items: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    fields = [f for f in _IDENTITY if sum(1 for item in items if item.get(f)) >= 0.9 * len(items)]
    if "provider" in items[0]:
        fields = ["provider", *fields[:1]]
    else:
        fields = fields[:1]
    seen: Counter[str] = Counter()
    out = {}
    for item in items:
        key = " / ".join(item.get(f, "") for f in fields) or json.dumps(item, sort_keys=True)
        seen[key] += 1
        out[key if seen[key] == 1 else f"{key} #{seen[key]}"] = item
    return out


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
    if not out.get("model"):
        for name in ("model_id", "model_name", "model id", "title"):
            if fields.get(name):
                out["model"] = fields[name]
                break
    return out


def record_changes(ctx: Context) -> tuple[list[RowChange], frozenset[int], frozenset[int]] | None:
    """Records added, removed or changed, and the old and new line numbers they cover; None when
    the texts are not feeds. Computed once per context."""
    if "records" in ctx.memo:
        return ctx.memo["records"]  # type: ignore[no-any-return]
    old, new = parse_records(ctx.old_text), parse_records(ctx.new_text)
    result = None
    if old is not None and new is not None:
        changes = []
        for key, fields in new.records.items():
            before = old.records.get(key)
            if before is None:
                cells = by_role(fields)
                # a feed of deprecations: items carry a shutdown field and no state
                notice = "shutdown" in cells and "status" not in cells
                changes.append(RowChange("added", None, cells, deprecation_table=notice))
            elif before != fields:
                changes.append(RowChange("changed", by_role(before), by_role(fields)))
        for key, fields in old.records.items():
            if key not in new.records:
                changes.append(RowChange("removed", by_role(fields), None))
        result = (changes, old.lines, new.lines)
    ctx.memo["records"] = result
    return result
