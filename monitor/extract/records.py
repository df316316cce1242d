"""JSON documents → stable text, records by identity; pure. feed.py writes its items the same way.

A list of objects (at the top, or the one list of objects inside a top-level object, as in
``{"object": "list", "data": [...]}``) is a list of records: one record per line, keys sorted,
records ordered by their identity, so a reordered response is no change and a changed field
changes exactly one line:

    {"object": "list",
    "data": [
    {"created": 1715367049, "id": "gpt-4o", "owned_by": "system"},
    {"created": 1721172741, "id": "gpt-4o-mini", "owned_by": "system"}
    ]}

The text is still JSON, so the classifier reads the records back as it reads a feed's. The
identity is the watch's ``id_fields``, else the first of DEFAULT_ID_FIELDS that every record
has. Any other document is written indented with sorted keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from monitor.errors import ExtractError

DEFAULT_ID_FIELDS = (
    "id", "guid", "model_id", "model", "model_name", "name", "slug", "key", "url", "link", "title",
)  # fmt: skip
MAX_DEPTH = 200


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def identity_fields(records: Sequence[dict[str, Any]], id_fields: Sequence[str]) -> tuple[str, ...]:
    """The fields that name a record: the configured ones, else the first default all share."""
    if id_fields:
        return tuple(id_fields)
    for name in DEFAULT_ID_FIELDS:
        if all(record.get(name) not in (None, "") for record in records):
            return (name,)
    return ()


def _identity(record: dict[str, Any], fields: Sequence[str]) -> tuple[str, str]:
    key = " / ".join(_compact(record.get(name)) for name in fields)
    return key, _compact(record)  # the whole record breaks ties, so the order is total


def render_records(
    records: Sequence[dict[str, Any]],
    id_fields: Sequence[str] = (),
    *,
    head: dict[str, Any] | None = None,
    list_key: str = "items",
    keep_order: bool = False,
) -> tuple[str, tuple[str, ...]]:
    """(text, identity fields): the records one per line in identity order, after the fields of
    `head` when the records sit inside an object; `keep_order` when the caller ordered them."""
    fields = identity_fields(records, id_fields)
    ordered = records if keep_order else sorted(records, key=lambda r: _identity(r, fields))
    lines = [_compact(record) + "," for record in ordered]
    if lines:
        lines[-1] = lines[-1][:-1]
    if head is None:
        return "\n".join(["[", *lines, "]"]), fields
    opening = [f"{_compact(key)}: {_compact(value)}," for key, value in sorted(head.items())]
    if opening:
        opening[0] = "{" + opening[0]
        return "\n".join([*opening, f"{_compact(list_key)}: [", *lines, "]}"]), fields
    return "\n".join([f"{{{_compact(list_key)}: [", *lines, "]}"]), fields


def _record_list(data: Any) -> tuple[str | None, list[dict[str, Any]]] | None:
    """(key of the list in its object or None at the top, the records) when data holds them."""

    def records(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)

    if records(data):
        return None, data
    if isinstance(data, dict):
        lists = [key for key, value in data.items() if records(value)]
        if len(lists) == 1:
            return lists[0], data[lists[0]]
    return None


def json_text(body: bytes, url: str, id_fields: Sequence[str] = ()) -> tuple[str, str]:
    """(text, what was seen) for a JSON body; ExtractError when it is not valid JSON or
    id_fields names a field the records lack."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ExtractError(f"invalid JSON at {url}: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ExtractError(
            f"invalid JSON at {url}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ExtractError(f"invalid JSON at {url}: nested too deeply") from None
    found = _record_list(data)
    if found is None:
        try:
            text = json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2)
        except RecursionError:
            raise ExtractError(f"JSON at {url} is nested too deeply to write") from None
        return text, f"a JSON {type(data).__name__}, no list of records"
    key, records = found
    missing = [name for name in id_fields if any(name not in record for record in records)]
    if missing:
        raise ExtractError(
            f"id_fields {missing[0]!r} is missing from some records at {url}; "
            f"fields of the first record: {', '.join(sorted(records[0]))}"
        )
    head = None if key is None else {k: v for k, v in data.items() if k != key}
    text, fields = render_records(records, id_fields, head=head, list_key=key or "items")
    identity = " + ".join(fields) if fields else "the whole record (no id field)"
    return text, f"{len(records)} records keyed by {identity}"
