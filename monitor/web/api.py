"""The JSON API: each page's data in the shapes of the CLI's --json (report.change_json,
report.version_json, lifecycle.as_dict), plus reviews."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor import report
from monitor.diff import diff_to_json
from monitor.store import browse, queries
from monitor.store.lifecycle import as_dict
from monitor.store.lifecycle import models as registry
from monitor.store.reviews import VERDICTS, add_review
from monitor.web import data
from monitor.web.auth import bearer_used, csrf_ok
from monitor.web.views import review_json


def _json(payload: Any, status: int = 200) -> Response:
    return JSONResponse(payload, status_code=status)


def watches(request: Request) -> Response:
    state = request.app.state
    found = data.watch_summaries(state.config, state.engine, datetime.now(UTC), state.spans)
    return _json([item.to_json() for item in found])


def changes(request: Request) -> Response:
    """A page of changes, newest first; a `Link: <…>; rel="next"` header points to the next."""
    state = request.app.state
    where = data.change_filter(state.config, state.engine, request.query_params)
    rows, more = browse.change_page(state.engine, where, limit=data.PAGE_SIZE)
    verdicts = browse.latest_verdicts(state.engine, [int(row.id or 0) for row in rows])
    items = []
    for row in rows:
        item = report.change_json(row)
        verdict = verdicts.get(int(row.id or 0))
        item["review"] = {"verdict": verdict[0], "reviewer": verdict[1]} if verdict else None
        items.append(item)
    response = _json(items)
    if more and rows:
        params = {**request.query_params, "before": str(rows[-1].id)}
        response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return response


def change(request: Request) -> Response:
    state = request.app.state
    detail = data.change_detail(
        state.engine, state.snapshots, request.path_params["change_id"], suggest=False
    )
    item = report.change_json(detail.change, full=True)
    item["reviews"] = [review_json(review) for review in detail.reviews]
    item["deliveries"] = [
        {
            "channel": d.channel,
            "state": d.state,
            "attempts": d.attempts,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
        }
        for d in detail.deliveries
    ]
    return _json(item)


def compare(request: Request) -> Response:
    state = request.app.state
    found = data.compare(state.engine, state.snapshots, request.query_params)
    return _json(
        {
            "from": report.version_json(*found.old),
            "to": report.version_json(*found.new),
            "diff": diff_to_json(found.diff),
        }
    )


def models(request: Request) -> Response:
    today = datetime.now(UTC).date()
    return _json([as_dict(row, today) for row in registry(request.app.state.engine, today=today)])


def exposure(request: Request) -> Response:
    """The inventory × the registry, as `monitor exposure --json` prints it; ?team= filters."""
    from monitor.inventory.exposure import exposure_items
    from monitor.store.lifecycle import effective_status

    config = request.app.state.config
    team = request.query_params.get("team") or None
    if team is not None and team not in {entry.team for entry in config.inventory}:
        return _json({"error": f"no team {team!r} in the inventory"}, 404)
    today = datetime.now(UTC).date()
    rows = registry(request.app.state.engine, today=today)
    items = exposure_items(config.inventory, config.aliases, rows, today, effective_status, team)
    return _json(items)


async def review(request: Request) -> Response:
    """POST {"verdict": …, "note": …} → 201 with the review."""
    reviewer = request.state.reviewer
    if reviewer is None:
        return JSONResponse(
            {"error": "writing needs a reviewer token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not bearer_used(request) and not csrf_ok(request, request.headers.get("x-csrf-token")):
        return _json({"error": "missing or wrong X-CSRF-Token header"}, 403)
    try:
        body = json.loads(await data.read_body(request))
    except (ValueError, UnicodeDecodeError):
        return _json({"error": 'send a JSON object: {"verdict": …, "note": …}'}, 400)
    if not isinstance(body, dict):
        return _json({"error": 'send a JSON object: {"verdict": …, "note": …}'}, 400)
    verdict, note = body.get("verdict"), body.get("note", "")
    if verdict not in VERDICTS:
        return _json({"error": f"'verdict' must be one of {', '.join(VERDICTS)}"}, 400)
    if not isinstance(note, str) or len(note) > data.MAX_NOTE:
        return _json({"error": f"'note' must be text of at most {data.MAX_NOTE} characters"}, 400)
    change_id, engine = request.path_params["change_id"], request.app.state.engine
    if await run_in_threadpool(queries.change, engine, change_id) is None:
        return _json({"error": f"no change {change_id}"}, 404)
    # a write may wait for the database lock: off the event loop
    row = await run_in_threadpool(add_review, engine, change_id, reviewer, verdict, note)
    return _json(review_json(row), 201)
