"""Pages laid out as several providers lay out their lifecycle, help-center and policy pages
(tests/fixtures/layouts, hand-made; see make_layouts.py): each served on 127.0.0.1, checked by
`monitor check`, changed to its second version and checked again. The change must carry the
labels and every retirement or moved date (model, version where the page has a version column,
shutdown date) written down in expected.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response

LAYOUTS = Path(__file__).parent / "fixtures" / "layouts"
EXPECTED = json.loads((LAYOUTS / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def changes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("layouts")
    with PageServer() as pages:
        watchlist = folder / "watchlist.toml"
        watchlist.write_text(
            "[defaults]\nretries = 0\njitter = 0\n\n"
            + "\n".join(
                f'[[watch]]\nid = "{name}"\nkind = "{want["kind"]}"\n'
                f'format = "{want.get("format", "html")}"\nurl = "{pages.url("/" + name)}"\n'
                for name, want in EXPECTED.items()
            ),
            encoding="utf-8",
        )
        for version in ("v1", "v2"):
            for name in EXPECTED:
                [body] = (LAYOUTS / name).glob(version + ".*")
                pages.route("/" + name, Response(body=body.read_bytes()))
            assert main(["-w", str(watchlist), "check", "--no-progress"]) == 0
    engine = open_engine(load_config(watchlist).database_url)
    return {name: queries.changes(engine, name) for name in EXPECTED}


COUNTED = ("retirement", "retirement_change", "new_entry", "entry_removed")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_second_version_reads_as_written_down(name: str, changes: dict) -> None:
    want = EXPECTED[name]
    if not want["labels"]:  # noise: nothing recorded
        assert changes[name] == []
        return
    [change] = changes[name]
    assert sorted(change.labels) == want["labels"], change.summary
    for expected in want["facts"]:
        assert any(all(f.get(k) == v for k, v in expected.items()) for f in change.facts), (
            expected,
            change.facts,
        )
    counted = [f for f in change.facts if f.get("kind") in COUNTED]
    assert len(counted) == sum(1 for f in want["facts"] if f["kind"] in COUNTED), counted
    if want.get("quiet"):  # a re-export or a "Last updated" bump alone: never a page
        assert change.severity in ("info", "minor"), change.severity


def test_a_date_set_where_the_page_said_tbd_shows_what_the_cell_said(changes: dict) -> None:
    [change] = changes["tbd-to-date"]
    [finding] = [f for f in change.findings if f["label"] == "model_retirement"]
    assert (finding["old"], finding["new"]) == ("TBD", "2026-01-31")
