"""Keep the README true: every watchlist key and every CLI command is documented there, and
the README's watchlist example is valid."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from monitor.cli import build_parser
from monitor.config import Defaults, InventoryEntry, Watch, parse_config

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(Watch.model_fields))
def test_every_watch_key_is_in_the_readme(key: str) -> None:
    assert f"`{key}`" in README


@pytest.mark.parametrize("key", sorted(InventoryEntry.model_fields))
def test_every_inventory_key_is_in_the_readme(key: str) -> None:
    assert f"`{key}`" in README


@pytest.mark.parametrize("key", sorted(Defaults.model_fields))
def test_every_defaults_key_is_in_the_readme(key: str) -> None:
    assert f"`{key}`" in README


def _commands() -> list[str]:
    parser = build_parser()
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = sorted(action.choices)
    return found


def test_the_cli_has_commands() -> None:
    assert {"check", "history", "show", "validate"} <= set(_commands())


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_readme(command: str) -> None:
    assert re.search(rf"monitor {re.escape(command)}\b", README), command


def test_the_readme_watchlist_example_is_valid(tmp_path: Path) -> None:
    import tomllib

    blocks = re.findall(r"```toml\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        parse_config(tomllib.loads(block), tmp_path / "watchlist.toml")
