"""The signing key: from an environment variable or a key file, never the command line.

The key file must be readable by its owner only (mode 0600 or stricter): anything wider
is refused, as ssh does. :class:`RedactingFilter` replaces the key (with or without its
``0x``) by ``[REDACTED]`` in every log record it sees; :func:`load_private_key` installs
it on every configured handler, so a key that reaches a message or an argument never
reaches a log line.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

__all__ = ["KEY_ENV", "RedactingFilter", "SigningKeyError", "load_private_key"]

KEY_ENV = "MMCAL_HL_PRIVATE_KEY"
"""Environment variable holding the hex private key (``0x`` + 64 hex digits)."""
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class SigningKeyError(ValueError):
    """No usable key; the message says where it looked and what to fix."""


class RedactingFilter(logging.Filter):
    """Replaces each secret (and its form without ``0x``) in a record's text."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        forms = set()
        for s in secrets:
            forms.add(s)
            forms.add(s.removeprefix("0x"))
        self._secrets = sorted((f for f in forms if f), key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "[REDACTED]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in ("msg", "name", "levelname"):
                clean = self._clean(value)
                if clean != value:
                    setattr(record, key, clean)
        return True


def _check_file(path: Path) -> str:
    try:
        st = path.stat()
    except OSError as exc:
        raise SigningKeyError(
            f"key file {path}: {exc.strerror}; create it with mode 0600") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}: others may read it. "
            f"Run `chmod 600 {path}` (only the owner may read a signing key)."
        )
    return path.read_text(encoding="ascii").strip()


def load_private_key(key_file: Path | None = None, *, env: str = KEY_ENV,
                     install_filter: bool = True) -> str:
    """The hex private key from ``key_file`` or else the ``env`` variable.

    Raises
    ------
    SigningKeyError
        Neither source holds a key, the file is readable by others, or the text is not a
        32-byte hex key. The message never contains the key.
    """
    if key_file is not None:
        key, where = _check_file(key_file), f"key file {key_file}"
    elif os.environ.get(env):
        key, where = os.environ[env].strip(), f"${env}"
    else:
        raise SigningKeyError(f"no signing key: set ${env} or pass --key-file PATH (mode 0600)")
    if not _HEX_KEY.match(key):
        raise SigningKeyError(f"{where} does not hold a hex private key (0x + 64 hex digits)")
    key = key if key.startswith("0x") else "0x" + key
    if install_filter:
        install_redaction(key)
    return key


def install_redaction(*secrets: str) -> RedactingFilter:
    """Add a :class:`RedactingFilter` to every handler configured now (the root's and
    every named logger's, e.g. the ``trader`` JSON handler): configure logging first."""
    flt = RedactingFilter(*secrets)
    root = logging.getLogger()
    loggers = [root] + [lg for lg in root.manager.loggerDict.values()
                        if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            handler.addFilter(flt)
    root.addFilter(flt)
    return flt
