"""`monitor serve`: the web UI under uvicorn (the only module that imports uvicorn)."""

from __future__ import annotations

import os
import signal
import socket
import sys
from types import FrameType
from urllib.parse import urlsplit

import uvicorn

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.store.browse import ensure_indexes
from monitor.store.db import open_engine
from monitor.web.app import create_app
from monitor.web.auth import is_loopback

SECRET_ENV = "MONITOR_SESSION_SECRET"


LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1", "[::1]"]


def build(config: Config, host: str, *, require_token: bool = False) -> object:
    engine = open_engine(config.database_url)
    ensure_indexes(engine)
    allowed = None
    if is_loopback(host):
        allowed = [*LOOPBACK_NAMES, host]
        if config.defaults.base_url:
            allowed.append(urlsplit(config.defaults.base_url).hostname or "localhost")
    return create_app(
        config,
        engine,
        public_read=is_loopback(host) and not require_token,
        session_secret=os.environ.get(SECRET_ENV) or None,
        allowed_hosts=allowed,
    )


def serve(config: Config, host: str, port: int, *, require_token: bool = False) -> None:
    app = build(config, host, require_token=require_token)
    shown = f"[{host}]" if ":" in host else host
    try:  # bound here, so a taken port is one clear line and the URL is printed once it works
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = str(exc.strerror or exc).split(" (while attempting")[0]
        raise MonitorError(
            f"cannot listen on {shown}:{port}: {reason}; check --host and --port"
        ) from None
    print(f"monitor: serving http://{shown}:{port}/", file=sys.stderr, flush=True)
    if require_token or not is_loopback(host):
        print("monitor: reading needs a reviewer token too", file=sys.stderr, flush=True)
    # uvicorn stops gracefully on SIGTERM, then raises the signal again: exit 0 on it
    signal.signal(signal.SIGTERM, _stopped)
    settings = uvicorn.Config(app, log_level="warning", server_header=False)  # type: ignore[arg-type]
    uvicorn.Server(settings).run(sockets=[listener])


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
