"""`monitor reclassify`: re-run the current rules over the stored versions, so better rules
improve the whole history, and rebuild the model registry from the new facts."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.classify import classify_change
from monitor.config import Config
from monitor.diff import diff_texts
from monitor.pipeline import _new_change
from monitor.routing import channels_for
from monitor.snapshots import open_bodies
from monitor.store import record, rewrite
from monitor.store.db import open_engine
from monitor.store.tables import ChangeRow, VersionRow


def reclassify(config: Config, watch_ids: Sequence[str] | None = None) -> tuple[int, int]:
    """Returns (changes examined, changes whose labels, facts, severity or summary changed).
    Watches no longer in the watchlist keep their recorded classification."""
    engine = open_engine(config.database_url)
    bodies = open_bodies(config.snapshots)
    watches = {w.id: w for w in config.watches}

    def recompute(change: ChangeRow, old: VersionRow, new: VersionRow) -> record.NewChange | None:
        watch = watches.get(change.watch_id)
        if watch is None:
            return None
        old_text = bodies.get_text(old.text_sha256)
        new_text = bodies.get_text(new.text_sha256)
        diff = diff_texts(old_text, new_text)
        classification = classify_change(diff, old_text, new_text, watch, at=change.detected_at)
        return _new_change(diff, classification, channels_for(config, watch, classification))

    selected = set(watch_ids) if watch_ids else None
    providers = {w.id: w.provider for w in config.watches}
    return rewrite.reclassify(engine, selected, recompute, providers)
