"""Sending one message to one channel: Slack (incoming webhook or bot token), a signed webhook,
the console. The only module that imports slack_sdk, imported when a Slack message is sent.

Every failure is a DeliveryError with one line that names the channel's problem, never a secret:
values of the channel's environment variables are replaced by the variables' names."""

from __future__ import annotations

import email.utils
import functools
import http.client
import logging
import os
import re
import socket
import ssl
import sys
import time
import urllib.error
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from monitor import __version__
from monitor.alerts.payload import Message, console_text, signature, webhook_body
from monitor.config import Channel, ConsoleChannel, SlackChannel, WebhookChannel
from monitor.errors import DeliveryError
from monitor.render_slack import change_message, digest_message, probe_message

SLACK_API = "https://slack.com/api/"
MAX_RETRY_AFTER = 86400.0
NETWORK_ERRORS = (urllib.error.URLError, OSError, socket.timeout, http.client.HTTPException)
BAD_URL_ERRORS = (http.client.InvalidURL, ValueError)


class _Unreachable(Exception):
    """The request did not get through (a client or transport error); its text is scrubbed."""


_QUIET = logging.getLogger("monitor.alerts.slack")  # the SDK logs request headers when debugging
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True)
class SenderSettings:
    """How the sender waits. The defaults suit production; tests make them tiny."""

    base_delay: float = 60.0  # first retry after about a minute, doubling each attempt
    max_delay: float = 3600.0
    jitter: float = 0.5  # a retry waits between (1 - jitter) and 1 times the backoff
    lease: float = 300.0  # a claimed delivery is due again after this long (its sender died)
    failed_retry: float = 3600.0  # a failed delivery is tried again this often, until max age
    timeout: float = 20.0  # per HTTP request; keep well under the lease
    slack_api_url: str = SLACK_API


@dataclass(frozen=True)
class Sent:
    remote_id: str | None = None  # Slack ts, webhook response id
    thread_id: str | None = None  # the Slack thread the watch's alerts go to


def read_secrets(name: str, channel: Channel) -> dict[str, str]:
    """The channel's secrets by variable name; a missing one is a one-line DeliveryError."""
    missing = [env for env in channel.env_names() if not os.environ.get(env, "").strip()]
    if missing:
        raise DeliveryError(
            f"channel {name!r}: environment variable {missing[0]} is not set; export it"
        )
    # a stray space or newline around a pasted URL or token is never part of it
    return {env: os.environ[env].strip() for env in channel.env_names()}


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(MAX_RETRY_AFTER, max(0.0, (when - datetime.now(UTC)).total_seconds()))


def _secret_parts(value: str) -> list[str]:
    """The value, and for a URL everything after its host (the path of a webhook is its
    secret), whole and its long id-like pieces, longest first."""
    parts = {value}
    scheme, sep, rest = value.partition("://")
    if sep:
        tail = rest[len(rest.split("/", 1)[0]) :]
        parts.add(tail)
        pieces = re.split(r"[^\w.~-]+", tail)  # ids and keys: long, with digits
        parts.update(p for p in pieces if len(p) >= 9 and any(c.isdigit() for c in p))
        auth = rest.split("/", 1)[0].rpartition("@")[0]
        parts.add(auth)
    return sorted((p for p in parts if p), key=len, reverse=True)


def _scrub(text: str, secrets: dict[str, str]) -> str:
    for env, value in secrets.items():
        for part in _secret_parts(value):
            text = text.replace(part, f"${env}")
    return text


def _address(channel: Channel, secrets: dict[str, str], settings: SenderSettings) -> str:
    """Where the channel sends, for an error: 'host H ($VAR)', never the secret URL."""
    env = None
    if isinstance(channel, SlackChannel) and channel.webhook_url_env:
        env = channel.webhook_url_env
    elif isinstance(channel, WebhookChannel):
        env = channel.url_env
    url = secrets[env] if env else settings.slack_api_url
    try:
        host = urlsplit(url).hostname or "no host"
    except ValueError:
        host = "no host"
    return f"host {host} (${env})" if env else f"host {host}"


def _network(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason).strip() or type(reason).__name__


def send(
    name: str,
    channel: Channel,
    message: Message,
    settings: SenderSettings,
    *,
    thread_ts: str | None = None,
    recovered: bool = False,
    oldest: datetime | None = None,
) -> Sent:
    """Send `message`; raise DeliveryError when the channel did not take it."""
    secrets = read_secrets(name, channel)
    try:
        if isinstance(channel, ConsoleChannel):
            # stderr: stdout is for what a command was asked for (`check --json` stays parseable)
            print(console_text(message), file=sys.stderr, flush=True)
            return Sent()
        if isinstance(channel, SlackChannel) and channel.webhook_url_env:
            return _slack_webhook(secrets[channel.webhook_url_env], message, settings)
        if isinstance(channel, SlackChannel) and channel.token_env:
            token = secrets[channel.token_env]
            return _slack_bot(channel, token, message, settings, thread_ts, recovered, oldest)
        assert isinstance(channel, WebhookChannel)
        secret = secrets[channel.secret_env] if channel.secret_env else None
        return _webhook(secrets[channel.url_env], secret, message, settings)
    except DeliveryError as exc:
        raise DeliveryError(_scrub(str(exc), secrets), retry_after=exc.retry_after) from None
    except BAD_URL_ERRORS:  # their text quotes the URL: say which variable to fix instead
        where = _address(channel, secrets, settings)
        raise DeliveryError(
            f"channel {name!r}: not a usable URL at {where}; fix the environment variable"
        ) from None
    except (*NETWORK_ERRORS, _Unreachable) as exc:
        where = _address(channel, secrets, settings)
        problem = f"cannot reach {name!r} at {where}: {_network(exc)}"
        raise DeliveryError(_scrub(problem, secrets)) from None


def _slack_content(message: Message) -> tuple[list[dict[str, Any]], str]:
    if message.test_channel is not None:
        return probe_message(message.test_channel)
    if message.period is not None:
        return digest_message(list(message.alerts), message.period_label)
    return change_message(message.alerts[0])


def _slack_webhook(url: str, message: Message, settings: SenderSettings) -> Sent:
    from slack_sdk.errors import SlackClientError
    from slack_sdk.webhook import WebhookClient

    blocks, text = _slack_content(message)
    client = WebhookClient(url, timeout=int(settings.timeout), retry_handlers=[], logger=_QUIET)
    try:
        response = client.send(text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
    except SlackClientError as exc:
        raise DeliveryError(f"Slack webhook: {exc}") from None
    if response.status_code == 200:
        return Sent()
    wait = retry_after(_header(response.headers, "retry-after"))
    body = " ".join(str(response.body or "").split())[:120]
    raise DeliveryError(
        f"Slack webhook answered HTTP {response.status_code}: {body or 'no body'}", retry_after=wait
    )


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def _slack_error(method: str, response: Any) -> DeliveryError:
    status = response.status_code
    error = response.get("error") if isinstance(response.data, dict) else None
    wait = retry_after(_header(response.headers, "retry-after")) if status == 429 else None
    return DeliveryError(f"Slack {method}: {error or 'error'} (HTTP {status})", retry_after=wait)


def _slack_bot(
    channel: SlackChannel,
    token: str,
    message: Message,
    settings: SenderSettings,
    thread_ts: str | None,
    recovered: bool,
    oldest: datetime | None,
) -> Sent:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    assert channel.channel is not None
    client = WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=int(settings.timeout),
        retry_handlers=[],
        logger=_QUIET,
    )
    thread = thread_ts if channel.thread_updates else None
    try:
        ts = (
            _find_posted(client, channel.channel, thread, message.key, oldest)
            if recovered
            else None
        )
        if ts is None:
            blocks, text = _slack_content(message)
            response = client.chat_postMessage(
                channel=channel.channel,
                text=text,
                blocks=blocks,
                thread_ts=thread,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": "monitor_delivery", "event_payload": {"key": message.key}},
            )
            ts = str(response["ts"])
    except SlackApiError as exc:
        raise _slack_error("chat.postMessage", exc.response) from None
    except SlackClientError as exc:
        raise DeliveryError(f"Slack: {exc}") from None
    return Sent(remote_id=ts, thread_id=(thread or ts) if channel.thread_updates else None)


def _find_posted(
    client: Any, channel: str, thread: str | None, key: str, oldest: datetime | None
) -> str | None:
    """The ts of a message this delivery already posted, if Slack lets us look."""
    from slack_sdk.errors import SlackApiError

    since = f"{oldest.timestamp():.6f}" if oldest else None
    try:
        if thread:
            found = client.conversations_replies(
                channel=channel, ts=thread, oldest=since, include_all_metadata=True, limit=200
            )
        else:
            found = client.conversations_history(
                channel=channel, oldest=since, include_all_metadata=True, limit=200
            )
    except SlackApiError as exc:
        if exc.response.status_code == 429 or exc.response.status_code >= 500:
            raise _slack_error("conversations.history", exc.response) from None
        return None  # cannot look (a channel name, a missing scope): post again
    for item in found.get("messages") or []:
        payload = (item.get("metadata") or {}).get("event_payload") or {}
        if payload.get("key") == key:
            return str(item["ts"])
    return None


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building one reads the CA bundle."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _webhook(url: str, secret: str | None, message: Message, settings: SenderSettings) -> Sent:
    import httpx

    body = webhook_body(message)
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"monitor/{__version__}",
        "X-Monitor-Delivery": message.key,
        "X-Monitor-Timestamp": stamp,
    }
    if secret:
        headers["X-Monitor-Signature"] = signature(secret, stamp, body)
    try:
        with httpx.Client(
            timeout=settings.timeout, follow_redirects=False, verify=_tls()
        ) as client:
            response = client.post(url, content=body, headers=headers)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ValueError("bad URL") from exc
    except httpx.HTTPError as exc:
        raise _Unreachable(f"{type(exc).__name__}: {_network(exc)}") from None
    if 200 <= response.status_code < 300:
        try:
            remote = response.json().get("id")
        except (ValueError, AttributeError):
            remote = None
        return Sent(remote_id=str(remote) if remote is not None else None)
    wait = retry_after(response.headers.get("retry-after"))
    raise DeliveryError(f"webhook answered HTTP {response.status_code}", retry_after=wait)
