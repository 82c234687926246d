"""The signing key: env var or 0600 key file only, and never in any log line."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from tests.trader.hyperliquid.conftest import KEY, touch_session, wait_for
from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.hyperliquid.keys import KEY_ENV, SigningKeyError, load_private_key
from trader.live.logs import JsonFormatter


def test_key_from_env_and_from_a_private_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY[2:])
    assert load_private_key(install_filter=False) == KEY
    path = tmp_path / "hl.key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    monkeypatch.delenv(KEY_ENV)
    assert load_private_key(path, install_filter=False) == KEY


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "hl.key"
    path.write_text(KEY)
    path.chmod(mode)
    with pytest.raises(SigningKeyError, match="chmod 600") as err:
        load_private_key(path, install_filter=False)
    assert KEY[2:] not in str(err.value)


def test_missing_or_malformed_key_is_refused_without_echoing_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(SigningKeyError, match=KEY_ENV):
        load_private_key(install_filter=False)
    monkeypatch.setenv(KEY_ENV, KEY[:-3] + "xyz")
    with pytest.raises(SigningKeyError, match="hex private key") as err:
        load_private_key(install_filter=False)
    assert KEY[2:-3] not in str(err.value)
    with pytest.raises(SigningKeyError, match="No such file"):
        load_private_key(tmp_path / "absent.key", install_filter=False)


def test_session_logs_never_contain_the_key(hl: FakeHyperliquid, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every logger at DEBUG (ours, websockets, urllib3, asyncio) to a JSON log file,
    a full session with a fill, a drop and a resync; then grep the file."""
    log_path = tmp_path / "session.log"
    handler = logging.FileHandler(log_path)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    monkeypatch.setenv(KEY_ENV, KEY)
    # `trader run` (another test) may have given `trader` its own stderr handler.
    monkeypatch.setattr(logging.getLogger("trader"), "propagate", True)
    filters: list[logging.Filter] = []
    try:
        key = load_private_key()
        filters = list(handler.filters)
        logging.getLogger("trader.test").warning("a careless line with the key %s", key)

        async def scenario() -> None:
            session = touch_session(hl)
            run = asyncio.create_task(session.run())
            await wait_for(lambda: len(hl.resting()) == 2, "both sides resting")
            bid = next(o for o in hl.resting() if o["side"] == "B")
            hl.call(lambda: hl.fill(bid["oid"]))
            hl.drop_connections()
            await wait_for(lambda: session.resyncs >= 2, "the resync")
            logging.getLogger("trader.test").info("session %r wallet %r", session,
                                                  session.exchange)
            session.stop("test over")
            await run

        asyncio.run(scenario())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for f in filters:
            root.removeFilter(f)
        handler.close()
    text = log_path.read_text()
    assert text.count("\n") > 50 and '"event": "fill"' in text.replace('":"', '": "')
    assert "[REDACTED]" in text  # the careless line was caught
    for form in (KEY, KEY[2:], KEY[2:].upper()):
        assert form not in text
    assert os.environ[KEY_ENV] == KEY
