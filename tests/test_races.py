"""Processes racing on one database, on SQLite and PostgreSQL: two `monitor check` on a watch
never checked before, and processes starting together on an empty database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.config import load_config
from monitor.store import migrate, migrations, queries
from monitor.store.db import open_engine
from tests.databases import create_postgres_database, drop_database
from tests.pageserver import PageServer, Request, Response

ROOT = Path(__file__).parent.parent
ROUNDS = 3

pytestmark = pytest.mark.usefixtures("database_url")


def page(text: str) -> bytes:
    return (
        "<!doctype html><html><body><main><h1>Usage policy</h1>"
        f"<p>{text}</p><p>We review these rules every quarter of the year.</p></main></body></html>"
    ).encode()


def together(server: PageServer, path: str, body: bytes, callers: int) -> None:
    """Answer `path` only once `callers` requests wait for it: every caller has fetched before
    any of them writes."""
    barrier = threading.Barrier(callers, timeout=30)

    def answer(request: Request) -> Response:
        barrier.wait()
        return Response(body=body)

    server.route(path, answer)


def test_two_checks_of_a_watch_never_checked_record_one_first_version(
    tmp_path: Path, page_server: PageServer
) -> None:
    ids = [f"new-{n}" for n in range(ROUNDS)]
    watches = "".join(f'[[watch]]\nid = "{i}"\nurl = "{page_server.url("/" + i)}"\n' for i in ids)
    path = tmp_path / "watchlist.toml"
    path.write_text(f"[defaults]\nretries = 0\n{watches}", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for watch_id in ids:
        together(page_server, "/" + watch_id, page(f"Rules of {watch_id}."), callers=2)
        command = [sys.executable, "-m", "monitor", "-w", str(path), "check", "--no-progress"]
        procs = [
            subprocess.Popen(
                [*command, "--watch", watch_id],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for proc in procs:
            _out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            assert "Traceback" not in err, err
    engine = open_engine(load_config(path).database_url)
    for watch_id in ids:
        assert queries.counts(engine, watch_id) == (2, 1, 0), watch_id  # checks, versions, changes


STARTER = """
import sys, time
from monitor.store.db import open_engine
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
open_engine(sys.argv[1])
"""


def test_processes_starting_together_on_an_empty_database_all_start(
    database_url: str, tmp_path: Path
) -> None:
    postgres = database_url.startswith("postgresql")
    for round_ in range(ROUNDS):
        url = create_postgres_database() if postgres else f"sqlite:///{tmp_path}/empty-{round_}.db"
        try:
            start = time.time() + 1.5  # every process has imported monitor by then
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", STARTER, url, str(start)],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(3)
            ]
            for proc in procs:
                _out, err = proc.communicate(timeout=90)
                assert proc.returncode == 0, err
            engine = sa.create_engine(url, poolclass=sa.NullPool)
            assert migrate.differences(engine) == []
            with engine.connect() as connection:
                versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                assert versions.fetchall() == [(migrations.HEAD,)]
            engine.dispose()
        finally:
            if postgres:
                drop_database(url)
