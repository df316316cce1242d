"""Which channels a change goes to. Pure: config and classification in, channel names out."""

from __future__ import annotations

from monitor.config import Config, Watch, severity_at_least
from monitor.models import Classification

NEVER_ALERTED = frozenset({"rule_change", "revert"})


def channels_for(config: Config, watch: Watch, classification: Classification) -> tuple[str, ...]:
    labels = set(classification.labels)
    if not labels or labels & NEVER_ALERTED:
        return ()
    if labels == {"cosmetic"} and not watch.alert_cosmetic:
        return ()
    names = watch.channels if watch.channels is not None else tuple(config.channels)
    chosen = []
    for name in names:
        channel = config.channels.get(name)
        if channel is None:
            continue
        if not severity_at_least(classification.severity, channel.min_severity):
            continue
        if channel.labels and not labels & set(channel.labels):
            continue
        if channel.tags and not set(watch.tags) & set(channel.tags):
            continue
        chosen.append(name)
    if config.inventory and "critical" == classification.severity:
        from monitor.inventory.exposure import team_channels

        chosen += [
            c for c in team_channels(config.inventory, classification.facts) if c not in chosen
        ]
    return tuple(chosen)
