"""A retirement date made firm in a changed line: "Discontinuation date: Not before October 16,
2026" → "Retirement date: October 16, 2026". The date stays, its floor goes: the model now
retires on that day, as a table's "no earlier than" cell made plain does. The line names its
model, else the statement's subject does (a model's facts listed under its id)."""

from __future__ import annotations

from collections.abc import Callable

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context, Line, Pair
from monitor.classify.dates import DateHit, find_dates
from monitor.classify.names import as_written, find_models, ids_written
from monitor.models import Finding

FLOORS = frozenset({"no earlier than", "not before", "not sooner than", "on or after"})
SubjectOf = Callable[[Context, Line], list[str]]
ShutdownOf = Callable[[str], tuple[DateHit | None, str | None]]
_REACH = 12  # lines above the changed one whose ids may name its model


def _models(ctx: Context, line: Line, subject: SubjectOf) -> list[str]:
    named = [hit.id for hit in find_models(line.core)]
    if named:
        return named
    above = [ctx.new_doc.line(n) for n in range(max(0, line.number - _REACH), line.number)]
    written = ids_written([other.core for other in above if other is not None])
    return as_written(subject(ctx, line), [], written)


def firmed(ctx: Context, pair: Pair, subject: SubjectOf, shutdown_of: ShutdownOf) -> list[Finding]:
    """The retirement of a changed line whose shutdown date keeps its day and loses its floor."""
    if not p.RETIRE_WORDS.search(pair.new.core):
        return []
    shutdown = shutdown_of(pair.new.core)[0]
    if shutdown is None or shutdown.qualifier is not None:
        return []
    floors = {h.iso: h.qualifier for h in find_dates(pair.old.core) if h.qualifier in FLOORS}
    if shutdown.iso not in floors:
        return []
    found = []
    for model in _models(ctx, pair.new, subject):
        fact = f.retirement(
            ctx, model, "retirement_date_set", shutdown=shutdown, previous=shutdown.iso
        )
        found.append(
            Finding(
                "lifecycle.date_firmed",
                "model_retirement",
                f"{model}: shutdown {shutdown.iso}, no longer a floor",
                pair.new.text,
                f"{floors[shutdown.iso]} {shutdown.iso}",
                shutdown.iso,
                (fact,),
            )
        )
    return found
