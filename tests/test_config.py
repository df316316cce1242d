"""Watchlist validation: every mistake reported at once, with the watch id and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.cli import main
from monitor.config import load_config, parse_duration
from monitor.errors import ConfigError

GOOD = """
[defaults]
timeout = "20s"
interval = "2h"

[channels.policy-team]
type = "slack"
webhook_url_env = "SLACK_WEBHOOK_POLICY"
min_severity = "major"

[[watch]]
id = "anthropic-rsp"
url = "https://www.anthropic.com/responsible-scaling-policy"
kind = "policy"
select = "main"
ignore = [".cookie-banner", "nav"]
ignore_text = ['Updated \\d+ days ago']
interval = "6h"
tags = ["safety"]
channels = ["policy-team"]

[[watch]]
id = "openai-deprecations"
url = "https://platform.openai.com/docs/deprecations"
kind = "lifecycle"
cron = "0 */6 * * *"
"""

BAD = """
[[watch]]
id = "one"
url = "ftp://example.com/x"
selct = "main"

[[watch]]
id = "two"
url = "https://example.com/"
select = "div[["
ignore_text = ["(unclosed"]
interval = "6 hours"

[[watch]]
id = "two"
url = "https://example.com/other"
channels = ["nowhere"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_watchlist_gives_frozen_typed_watches(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    rsp = config.watch("anthropic-rsp")
    assert rsp.interval == 6 * 3600 and rsp.ignore == (".cookie-banner", "nav")
    assert config.interval_of(config.watch("openai-deprecations")) == 2 * 3600
    assert config.defaults.timeout == 20
    assert set(config.channels) == {"policy-team", "console"}
    assert config.database_url == f"sqlite:///{tmp_path / 'monitor.db'}"
    with pytest.raises(ValidationError):
        rsp.url = "https://elsewhere.example/"  # type: ignore[misc]


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BAD))
    text = "\n".join(caught.value.problems)
    assert "watch 'one': unknown key 'selct'" in text
    assert "watch 'one': key 'url': bad URL scheme" in text
    assert "watch 'two': key 'select': bad CSS selector" in text
    assert "watch 'two': key 'ignore_text': bad regex '(unclosed'" in text
    assert "watch 'two': key 'interval': bad duration '6 hours'" in text
    assert "watch 'two': duplicate id" in text
    assert "no channel 'nowhere'" in text
    assert len(caught.value.problems) == 7


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        load_config(write(tmp_path, '[[watch]]\nid = "x\n'))


def test_cli_exits_2_with_one_line_per_problem_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BAD)
    assert main(["--watchlist", str(path), "validate"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error: ")]) == 7


def test_missing_watchlist_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--watchlist", str(tmp_path / "nope.toml"), "check"]) == 2
    assert "no such watchlist" in capsys.readouterr().err


def test_missing_channel_secret_is_reported_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_POLICY", raising=False)
    assert main(["--watchlist", str(write(tmp_path, GOOD)), "validate"]) == 2
    assert "SLACK_WEBHOOK_POLICY is not set" in capsys.readouterr().err
    monkeypatch.setenv("SLACK_WEBHOOK_POLICY", "http://127.0.0.1:9/hook")
    assert main(["--watchlist", str(write(tmp_path, GOOD)), "validate"]) == 0


def test_bad_cron_and_interval_plus_cron(tmp_path: Path) -> None:
    text = '[[watch]]\nid = "a"\nurl = "https://e.com/"\ncron = "61 * * * *"\n'
    text += '[[watch]]\nid = "b"\nurl = "https://e.com/"\ncron = "0 * * * *"\ninterval = "1h"\n'
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert "watch 'a': key 'cron': bad cron" in caught.value.problems[0]
    assert "watch 'b': set 'interval' or 'cron', not both" in caught.value.problems[1]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_the_shipped_watchlist_is_valid() -> None:
    config = load_config(Path(__file__).parent.parent / "watchlist.toml")
    ids = {w.id for w in config.watches}
    assert {
        "anthropic-rsp",
        "openai-deprecations",
        "openai-research",
        "bedrock-model-lifecycle",
    } <= ids
