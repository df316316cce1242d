"""watchlist.toml → frozen, validated models. Every mistake is reported at once, with the watch id
and the key, before anything runs. Secrets come from environment variables named in the file."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.errors import ConfigError
from monitor.models import SEVERITIES, Severity

DEFAULT_USER_AGENT = "monitor/0.1 (+https://github.com/monitor-dev/monitor; page-change monitor)"
WATCH_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}
LABELS = (
    "version_bump", "model_retirement", "model_launch", "new_entry", "entry_removed", "policy_text",
    "section_added", "section_removed", "renamed", "date_change", "cosmetic", "revert",
    "fetch_problem", "page_gone", "page_restored", "rule_change", "delivery_problem",
    "shutdown_reminder",
)  # fmt: skip


def parse_duration(text: str | int | float) -> float:
    """'90s', '15m', '6h', '1d', '1h30m' → seconds. A bare number is seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"bad duration {text!r}: must be more than zero")
        return float(text)
    if not isinstance(text, str):
        raise ValueError(f"bad duration {text!r}: use e.g. '30m', '6h', '1d'")
    spec = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", spec):
        spec += "s"
    parts = DURATION_PART.findall(spec)
    if not spec or "".join(n + u for n, u in parts) != spec:
        raise ValueError(f"bad duration {text!r}: use e.g. '30m', '6h', '1d'")
    seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"bad duration {text!r}: must be more than zero")
    return seconds


def parse_size(text: str | int) -> int:
    """'10MB', '512kb', 1000000 → bytes."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    match = SIZE.match(str(text))
    if not match:
        raise ValueError(f"bad size {text!r}: use e.g. '10MB' or '512KB'")
    return int(float(match.group(1)) * SIZE_UNITS[(match.group(2) or "b").lower()])


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Frozen):
    user_agent: str = DEFAULT_USER_AGENT
    timeout: Annotated[float, Field(gt=0)] = 30.0
    interval: Annotated[float, Field(gt=0)] = 6 * 3600.0
    jitter: Annotated[float, Field(ge=0)] = 60.0
    max_body: int = 10 * 10**6
    max_redirects: Annotated[int, Field(ge=0, le=30)] = 10
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    concurrency: Annotated[int, Field(ge=1, le=256)] = 10
    per_host: Annotated[int, Field(ge=1, le=64)] = 2
    host_spacing: Annotated[float, Field(ge=0)] = 0.0
    failures_before_alert: Annotated[int, Field(ge=1)] = 3
    delivery_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    delivery_max_age: Annotated[float, Field(gt=0)] = 7 * 86400.0
    revert_window: Annotated[int, Field(ge=0, le=100)] = 5
    browser_pages: Annotated[int, Field(ge=1, le=16)] = 2
    base_url: str | None = None  # where `monitor serve` is reached; alerts link to change pages
    workers: Annotated[int, Field(ge=0, le=64)] | None = None  # None: one per core

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"bad URL {value!r}: use e.g. 'https://monitor.example.com'")
        return value.rstrip("/")

    @field_validator(
        "timeout", "interval", "jitter", "host_spacing", "delivery_max_age", mode="before"
    )
    @classmethod
    def _duration(cls, value: Any) -> float:
        if value == 0 or value == "0":
            return 0.0
        return parse_duration(value)

    @field_validator("max_body", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)


class _ChannelBase(_Frozen):
    min_severity: Severity = "info"
    labels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    digest: Literal["hourly", "daily"] | None = None

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [label for label in value if label not in LABELS]
        if unknown:
            raise ValueError(f"unknown label {unknown[0]!r}; known: {', '.join(LABELS)}")
        return value

    def env_names(self) -> tuple[str, ...]:
        """The environment variables this channel reads its secrets from."""
        return ()


class ConsoleChannel(_ChannelBase):
    type: Literal["console"] = "console"


class SlackChannel(_ChannelBase):
    type: Literal["slack"]
    webhook_url_env: str | None = None  # incoming webhook
    token_env: str | None = None  # bot token, chat.postMessage
    channel: str | None = None
    thread_updates: bool = False

    @model_validator(mode="after")
    def _one_mode(self) -> SlackChannel:
        if bool(self.webhook_url_env) == bool(self.token_env):
            raise ValueError("set exactly one of 'webhook_url_env' or 'token_env'")
        if self.token_env and not self.channel:
            raise ValueError("'token_env' needs 'channel' (e.g. \"#model-lifecycle\")")
        if self.thread_updates and not self.token_env:
            raise ValueError("'thread_updates' needs a bot token ('token_env'), not a webhook")
        return self

    def env_names(self) -> tuple[str, ...]:
        return tuple(name for name in (self.webhook_url_env, self.token_env) if name)


class WebhookChannel(_ChannelBase):
    type: Literal["webhook"]
    url_env: str
    secret_env: str | None = None

    def env_names(self) -> tuple[str, ...]:
        return tuple(name for name in (self.url_env, self.secret_env) if name)


Channel = Annotated[ConsoleChannel | SlackChannel | WebhookChannel, Field(discriminator="type")]


class Watch(_Frozen):
    id: str
    url: str
    kind: Literal["policy", "lifecycle", "index", "generic"] = "generic"
    name: str | None = None
    select: str | None = None
    ignore: tuple[str, ...] = ()
    ignore_text: tuple[str, ...] = ()
    interval: float | None = None
    cron: str | None = None
    tags: tuple[str, ...] = ()
    channels: tuple[str, ...] | None = None  # None: every channel whose filters match
    provider: str | None = None
    fetcher: Literal["http", "browser", "auto"] = "http"
    wait_for: str | None = None
    severity: dict[str, Severity] = Field(default_factory=dict)
    alert_cosmetic: bool = False
    failures_before_alert: Annotated[int, Field(ge=1)] | None = None
    min_length: Annotated[int, Field(ge=0)] = 1
    format: Literal["html", "pdf", "feed", "json", "text"] | None = None  # None: chosen by the body
    follow: str | None = None  # CSS selector of the link to the document to watch
    id_fields: tuple[str, ...] = ()  # the fields that identify a JSON record

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not WATCH_ID.match(value):
            raise ValueError(
                f"bad id {value!r}: use lower-case letters, digits, '.', '_' and '-' (max 80)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"bad URL scheme in {value!r}: use http:// or https://")
        if not parts.hostname:
            raise ValueError(f"bad URL {value!r}: no host")
        return value

    @field_validator("select", "wait_for", "follow")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is not None:
            _check_selector(value)
        return value

    @field_validator("ignore")
    @classmethod
    def _selectors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for selector in value:
            _check_selector(selector)
        return value

    @field_validator("ignore_text")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {pattern!r}: {exc}") from None
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from monitor.scheduler import check_cron

            problem = check_cron(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("severity")
    @classmethod
    def _severity_labels(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        unknown = [label for label in value if label not in LABELS]
        if unknown:
            raise ValueError(f"unknown label {unknown[0]!r}; known: {', '.join(LABELS)}")
        return value

    @model_validator(mode="after")
    def _interval_or_cron(self) -> Watch:
        if self.interval is not None and self.cron is not None:
            raise ValueError("set 'interval' or 'cron', not both")
        if self.id_fields and self.format not in (None, "json"):
            raise ValueError(f"'id_fields' applies to JSON records, not format {self.format!r}")
        if self.follow and self.fetcher != "http":
            raise ValueError("'follow' needs fetcher = \"http\" (the linked document is fetched)")
        return self

    def extract_rules(self) -> dict[str, Any]:
        """The keyword arguments of extract.extract_text that this watch sets."""
        return {
            "select": self.select,
            "ignore": self.ignore,
            "ignore_text": self.ignore_text,
            "kind": self.kind,
            "min_length": self.min_length,
            "format": self.format,
            "id_fields": self.id_fields,
        }

    def rules_sha256(self) -> str:
        """SHA-256 of this watch's extraction rules (see extract.rules_sha256)."""
        from monitor.extract import rules_sha256

        return rules_sha256(
            self.select, self.ignore, self.ignore_text, self.kind,
            format=self.format, id_fields=self.id_fields, follow=self.follow,
        )  # fmt: skip

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def title(self) -> str:
        return self.name or self.id


class InventoryEntry(_Frozen):
    """Models one team uses: `[[inventory]]`. `used_in` says where (written by `inventory scan`)."""

    team: Annotated[str, Field(min_length=1)]
    models: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    used_in: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Config(_Frozen):
    path: Path
    defaults: Defaults
    channels: dict[str, Channel]
    watches: tuple[Watch, ...]
    database_url: str
    snapshots_dir: Path
    inventory: tuple[InventoryEntry, ...] = ()
    aliases: dict[str, str] = Field(default_factory=dict)  # alias or -latest id → snapshot id
    snapshots_url: str | None = None  # s3://bucket/prefix: bodies live there, not in the folder

    @property
    def snapshots(self) -> str:
        """Where snapshot bodies live: s3://bucket/prefix or the local folder."""
        return self.snapshots_url or str(self.snapshots_dir)

    def watch(self, watch_id: str) -> Watch:
        for watch in self.watches:
            if watch.id == watch_id:
                return watch
        known = ", ".join(w.id for w in self.watches) or "none"
        raise ConfigError(f"{self.path.name}: no watch {watch_id!r} (watches: {known})")

    def interval_of(self, watch: Watch) -> float:
        return watch.interval if watch.interval is not None else self.defaults.interval

    def failures_before_alert(self, watch: Watch) -> int:
        return watch.failures_before_alert or self.defaults.failures_before_alert

    def missing_secrets(self) -> list[str]:
        """Channels whose secret environment variables are unset: one line each."""
        return [
            f"channel {name!r}: environment variable {env} is not set; export it before running"
            for name, channel in self.channels.items()
            for env in channel.env_names()
            if not os.environ.get(env)
        ]


def _check_selector(selector: str) -> None:
    from monitor.extract import selector_problem

    problem = selector_problem(selector)
    if problem:
        raise ValueError(problem)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _messages(prefix: str, exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not str(part).endswith("Channel"))
        loc = tuple(p for p in loc if p not in ("console", "slack", "webhook") or len(loc) == 1)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            lines.append(f"{prefix}: unknown key {_where(loc)!r}")
        elif error["type"] == "missing":
            lines.append(f"{prefix}: missing key {_where(loc)!r}")
        elif loc:
            lines.append(f"{prefix}: key {_where(loc)!r}: {message}")
        else:
            lines.append(f"{prefix}: {message}")
    return lines


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate a parsed watchlist. Raises ConfigError listing every mistake."""
    name = path.name
    problems: list[str] = []
    unknown = set(data) - {"defaults", "channels", "watch", "settings", "inventory", "aliases"}
    problems += [
        f"{name}: unknown table {key!r} (known: defaults, channels, watch, inventory, aliases)"
        for key in unknown
    ]

    defaults = Defaults()
    try:
        defaults = Defaults.model_validate(data.get("defaults", {}))
    except ValidationError as exc:
        problems += _messages(f"{name}: [defaults]", exc)

    channels: dict[str, Channel] = {}
    raw_channels = data.get("channels", {})
    if not isinstance(raw_channels, dict):
        problems.append(f"{name}: 'channels' must be a table of [channels.NAME] tables")
        raw_channels = {}
    from pydantic import TypeAdapter

    channel_adapter: TypeAdapter[Channel] = TypeAdapter(Channel)
    for channel_name, raw in raw_channels.items():
        if not isinstance(raw, dict) or "type" not in raw:
            problems.append(
                f"{name}: channel {channel_name!r}: missing key 'type' (console, slack or webhook)"
            )
            continue
        try:
            channels[channel_name] = channel_adapter.validate_python(raw)
        except ValidationError as exc:
            problems += _messages(f"{name}: channel {channel_name!r}", exc)
    if "console" not in raw_channels:
        channels["console"] = ConsoleChannel()

    raw_watches = data.get("watch", [])
    if not isinstance(raw_watches, list):
        problems.append(f"{name}: watches are [[watch]] tables (an array of tables)")
        raw_watches = []
    watches: list[Watch] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_watches, start=1):
        label = f"watch #{index}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label = f"watch {raw['id']!r}"
            if raw["id"] in seen:
                problems.append(f"{name}: {label}: duplicate id (ids must be unique)")
            seen.add(raw["id"])
        try:
            watch = Watch.model_validate(raw)
        except ValidationError as exc:
            problems += _messages(f"{name}: {label}", exc)
            continue
        for channel_name in watch.channels or ():
            if channel_name not in channels and channel_name not in raw_channels:
                problems.append(
                    f"{name}: {label}: key 'channels': no channel {channel_name!r} "
                    f"(declare [channels.{channel_name}])"
                )
        watches.append(watch)
    inventory, aliases = _inventory(data, name, channels, problems)
    if problems:
        raise ConfigError(problems)

    base = path.parent
    database_url = os.environ.get("MONITOR_DATABASE_URL") or f"sqlite:///{base / 'monitor.db'}"
    snapshots = os.environ.get("MONITOR_SNAPSHOTS") or str(base / "snapshots")
    snapshots_dir = base / "snapshots" if snapshots.startswith("s3://") else Path(snapshots)
    return Config(
        path=path,
        defaults=defaults,
        channels=channels,
        watches=tuple(watches),
        database_url=database_url,
        snapshots_dir=snapshots_dir,
        inventory=inventory,
        aliases=aliases,
        snapshots_url=snapshots if snapshots.startswith("s3://") else None,
    )


def _inventory(
    data: Mapping[str, Any], name: str, channels: Mapping[str, Any], problems: list[str]
) -> tuple[tuple[InventoryEntry, ...], dict[str, str]]:
    """`[[inventory]]` tables and the `[aliases]` table; mistakes are appended to `problems`."""
    raw_entries = data.get("inventory", [])
    if not isinstance(raw_entries, list):
        problems.append(f"{name}: inventories are [[inventory]] tables (an array of tables)")
        raw_entries = []
    entries: list[InventoryEntry] = []
    for index, raw in enumerate(raw_entries, start=1):
        label = f"inventory #{index}"
        if isinstance(raw, dict) and isinstance(raw.get("team"), str):
            label = f"inventory {raw['team']!r}"
        try:
            entry = InventoryEntry.model_validate(raw)
        except ValidationError as exc:
            problems += _messages(f"{name}: {label}", exc)
            continue
        for channel_name in entry.channels:
            if channel_name not in channels:
                problems.append(
                    f"{name}: {label}: key 'channels': no channel {channel_name!r} "
                    f"(declare [channels.{channel_name}])"
                )
        entries.append(entry)
    raw_aliases = data.get("aliases", {})
    aliases: dict[str, str] = {}
    if not isinstance(raw_aliases, dict):
        problems.append(f'{name}: [aliases] must be a table of "alias" = "model id" pairs')
    else:
        for alias, target in raw_aliases.items():
            if isinstance(target, str) and target.strip():
                aliases[alias] = target.strip()
            else:
                problems.append(f"{name}: [aliases]: {alias!r} must name a model id (a string)")
    return tuple(entries), aliases


def load_config(path: str | Path) -> Config:
    """Read and validate a watchlist file. Raises ConfigError with one line per mistake."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such watchlist; create it or pass --watchlist PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the watchlist: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    return parse_config(data, path)


def severity_at_least(severity: Severity, floor: Severity) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(floor)
