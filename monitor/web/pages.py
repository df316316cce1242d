"""The HTML pages, rendered from Jinja2 templates with autoescaping: page text never becomes
markup. The diff HTML comes from monitor.render, which escapes every piece of page text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from monitor.calendar import shutdown_calendar
from monitor.config import LABELS
from monitor.models import SEVERITIES
from monitor.render import render_html_inline, render_html_side_by_side
from monitor.render_slack import fact_lines
from monitor.store import browse, queries
from monitor.store.lifecycle import effective_status, events
from monitor.store.lifecycle import models as registry
from monitor.store.reviews import VERDICTS, add_review
from monitor.web import auth, data
from monitor.web.views import timeline_rows

UPCOMING_DAYS = 180
COMPARABLE_VERSIONS = 200  # offered in a timeline's compare form
CHECKS_PER_PAGE = 200  # runs of unchanged checks fold into one row
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = (datetime.now(UTC) - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{int(seconds)} s"
    elif seconds < 5400:
        text = f"{round(seconds / 60)} min"
    elif seconds < 129600:
        text = f"{round(seconds / 3600)} h"
    else:
        text = f"{round(seconds / 86400)} days"
    return f"in {text}" if future else f"{text} ago"


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


templates.env.filters["ago"] = _ago
templates.env.filters["when"] = _when
templates.env.globals["SEVERITIES"] = SEVERITIES
templates.env.globals["LABELS"] = LABELS
templates.env.globals["VERDICTS"] = VERDICTS
templates.env.globals["REVIEW_STATES"] = browse.REVIEW_STATES
templates.env.globals["fact_lines"] = fact_lines


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("reviewer", getattr(request.state, "reviewer", None))
    context["csrf"] = auth.csrf_token(request)
    context["query"] = lambda **changes: _query(request, **changes)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = {k: v for k, v in request.query_params.items() if k not in changes}
    params |= {k: str(v) for k, v in changes.items() if v is not None}
    return "?" + urlencode(params) if params else "?"


def error_page(request: Request, status: int, reason: str) -> Response:
    return _page(request, "error.html", status, status=status, reason=reason)


def signin_page(
    request: Request, *, status_code: int = 200, problem: str = "", then: str | None = None
) -> Response:
    """The sign-in form; `then` (default: the page asked for) is where signing in leads."""
    target = (
        then
        or request.query_params.get("next")
        or (request.url.path if request.method == "GET" else "/")
    )
    return _page(
        request, "signin.html", status_code, problem=problem, next=_safe_next(target), reviewer=None
    )


def _safe_next(target: str) -> str:
    """Only a path on this server: no scheme, no host, no `//` that a browser reads as one."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _form(request: Request) -> dict[str, str]:
    body = (await data.read_body(request)).decode("utf-8", errors="replace")
    return {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}


async def signin(request: Request) -> Response:
    if request.method == "GET":
        return signin_page(request)
    form = await _form(request)
    if not auth.csrf_ok(request, form.get("csrf")):
        return error_page(request, 403, "the form expired or came from elsewhere; sign in again")
    name = await run_in_threadpool(auth.sign_in, request, form.get("token", ""))
    if name is None:
        return signin_page(
            request,
            status_code=401,
            problem="unknown or removed reviewer token",
            then=form.get("next"),
        )
    return RedirectResponse(_safe_next(form.get("next", "/")), status_code=303)


async def signout(request: Request) -> Response:
    form = await _form(request)
    if not auth.csrf_ok(request, form.get("csrf")):
        return error_page(request, 403, "the form expired or came from elsewhere")
    auth.sign_out(request)
    return RedirectResponse("/", status_code=303)


def watches(request: Request) -> Response:
    state = request.app.state
    found = data.watch_summaries(state.config, state.engine, datetime.now(UTC), state.spans)
    return _page(request, "watches.html", watches=found)


def watch_timeline(request: Request) -> Response:
    state = request.app.state
    watch_id = request.path_params["watch_id"]
    watch = data.watch_of(state.config, state.engine, watch_id)
    if watch is None:
        raise data.NotFound(f"no watch {watch_id!r} in the watchlist or the history")
    where = data.change_filter(state.config, state.engine, request.query_params)
    before = data.timeline_before(request.query_params)
    found = browse.timeline(
        state.engine,
        watch_id,
        before=before,
        limit=data.PAGE_SIZE,
        check_limit=CHECKS_PER_PAGE,
        label=where.label,
        severity=where.severity,
    )
    rows, cutoff = timeline_rows(
        found.checks, found.versions, found.changes, data.PAGE_SIZE, CHECKS_PER_PAGE
    )
    counts = queries.counts(state.engine, watch_id)
    verdicts = browse.latest_verdicts(state.engine, [int(c.id or 0) for c in found.changes])
    versions = browse.recent_versions(state.engine, watch_id, COMPARABLE_VERSIONS)
    return _page(
        request,
        "watch.html",
        watch=watch,
        rows=rows,
        counts=counts,
        verdicts=verdicts,
        versions=versions,
        where=where,
        older=cutoff.isoformat() if cutoff else None,
    )


def change_list(request: Request) -> Response:
    state = request.app.state
    where = data.change_filter(state.config, state.engine, request.query_params)
    rows, more = browse.change_page(state.engine, where, limit=data.PAGE_SIZE)
    verdicts = browse.latest_verdicts(state.engine, [int(c.id or 0) for c in rows])
    return _page(
        request,
        "changes.html",
        changes=rows,
        verdicts=verdicts,
        where=where,
        older=rows[-1].id if more and rows else None,
        watch_ids=[w.id for w in state.config.watches],
    )


def change(request: Request) -> Response:
    state = request.app.state
    detail = data.change_detail(
        state.engine, state.snapshots, request.path_params["change_id"], suggest=True
    )
    watch = next((w for w in state.config.watches if w.id == detail.change.watch_id), None)
    return _page(
        request,
        "change.html",
        detail=detail,
        c=detail.change,
        watch=watch,
        inline=Markup(render_html_inline(detail.diff)) if detail.diff else None,
        side=Markup(render_html_side_by_side(detail.diff)) if detail.diff else None,
        posted=request.query_params.get("reviewed") == "1",
    )


async def review(request: Request) -> Response:
    change_id = request.path_params["change_id"]
    reviewer = request.state.reviewer
    if reviewer is None:
        return signin_page(
            request,
            status_code=401,
            problem="signing a change off needs a reviewer token",
            then=f"/changes/{change_id}",
        )
    form = await _form(request)
    if not auth.csrf_ok(request, form.get("csrf")):
        return error_page(
            request, 403, "the form expired or came from elsewhere; reload the change"
        )
    verdict, note = form.get("verdict", ""), form.get("note", "").strip()
    if verdict not in VERDICTS:
        raise data.BadRequest(f"choose a verdict: {', '.join(VERDICTS)}")
    if len(note) > data.MAX_NOTE:
        raise data.BadRequest(f"the note is longer than {data.MAX_NOTE} characters")
    engine = request.app.state.engine
    if await run_in_threadpool(queries.change, engine, change_id) is None:
        raise data.NotFound(f"no change {change_id}")
    # a write may wait for the database lock: off the event loop
    await run_in_threadpool(add_review, engine, change_id, reviewer, verdict, note)
    return RedirectResponse(f"/changes/{change_id}?reviewed=1#reviews", status_code=303)


def compare(request: Request) -> Response:
    state = request.app.state
    found = data.compare(state.engine, state.snapshots, request.query_params)
    return _page(
        request,
        "compare.html",
        found=found,
        watch_id=found.old[0].watch_id,
        side=Markup(render_html_side_by_side(found.diff)),
        inline=Markup(render_html_inline(found.diff)),
    )


def version(request: Request) -> Response:
    state = request.app.state
    version_id = request.path_params["version_id"]
    found = queries.version(state.engine, version_id)
    if found is None:
        raise data.NotFound(f"no version {version_id}")
    text = state.snapshots.get_text(found[0].text_sha256)
    return _page(request, "version.html", v=found[0], s=found[1], text=text)


def raw_snapshot(request: Request) -> Response:
    """The captured bytes as plain text in a sandbox: never a live document."""
    state = request.app.state
    version_id = request.path_params["version_id"]
    found = queries.version(state.engine, version_id)
    if found is None:
        raise data.NotFound(f"no version {version_id}")
    body = state.snapshots.get(found[1].sha256)
    return Response(
        body,
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": f'inline; filename="snapshot-{found[1].sha256[:12]}.txt"',
        },
    )


def models(request: Request) -> Response:
    engine = request.app.state.engine
    today = datetime.now(UTC).date()
    rows = registry(engine, today=today)
    horizon = today + timedelta(days=UPCOMING_DAYS)
    upcoming = [
        row
        for row in rows
        if row.shutdown_on is not None
        and today <= row.shutdown_on <= horizon
        and effective_status(row, today) != "retired"
    ]
    history = {row.id: events(engine, row.provider, row.model, row.surface) for row in rows}
    return _page(
        request,
        "models.html",
        rows=rows,
        upcoming=upcoming,
        history=history,
        status={row.id: effective_status(row, today) for row in rows},
        today=today,
        horizon=UPCOMING_DAYS,
        exposure=_exposure(request, rows, today),
        teams=sorted({entry.team for entry in request.app.state.config.inventory}),
    )


def _exposure(request: Request, rows: list[Any], today: date) -> list[dict[str, Any]]:
    from monitor.inventory.exposure import exposure_items

    config = request.app.state.config
    team = request.query_params.get("team") or None
    return exposure_items(config.inventory, config.aliases, rows, today, effective_status, team)


def models_ics(request: Request) -> Response:
    """The shutdown calendar; ?team= keeps the models that team's inventory uses."""
    rows = registry(request.app.state.engine)
    team = request.query_params.get("team")
    if team:
        from monitor.inventory.exposure import team_rows

        config = request.app.state.config
        rows = team_rows(config.inventory, config.aliases, rows, team)  # type: ignore[assignment]
    return Response(
        shutdown_calendar(rows),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="model-shutdowns.ics"'},
    )
