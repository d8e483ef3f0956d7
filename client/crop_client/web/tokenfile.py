"""The viewer token: 32 random bytes (hex) in a file of mode 0600 in the user config dir.

With a token file present, every route of the dashboard asks for it. The file
is read on start; `cropctl web token --rotate` replaces it (a running dashboard
keeps the token it started with until restarted).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import stat
from pathlib import Path

import platformdirs

from crop_progress.paths import APP

TOKEN_BYTES = 32
FILE_NAME = "web-token"
_SHAPE = re.compile(f"[0-9a-f]{{{2 * TOKEN_BYTES}}}")


class TokenError(Exception):
    """The token file exists but cannot serve: one line saying what to do."""


def default_token_file() -> Path:
    """`<user config dir>/crop-progress/web-token`."""
    return Path(platformdirs.user_config_dir(APP)) / FILE_NAME


def read_token(path: Path) -> str | None:
    """The token, or None when there is no file. Raises TokenError for a file that is
    not a token, or that other users may read."""
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TokenError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise TokenError(f"the token file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise TokenError(f"the token file {path} can be read by other users (mode "
                         f"{stat.S_IMODE(info.st_mode):o}): `cropctl web token --rotate` "
                         "makes a new, private one")
    if not _SHAPE.fullmatch(text):
        raise TokenError(f"the token file {path} does not hold a token: `cropctl web token "
                         "--rotate` makes a new one")
    return text


def make_token(path: Path, *, rotate: bool = False) -> tuple[str, bool]:
    """The token of `path`, made when missing (or when `rotate`); (token, whether new)."""
    if not rotate:
        existing = read_token(path)
        if existing is not None:
            return existing, False
    token = secrets.token_hex(TOKEN_BYTES)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()  # never write a secret through a link someone may have planted
    # Written in place, not atomically: a torn file is refused on read and rotated.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (token + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return token, True


def same(given: str | None, token: str) -> bool:
    """Constant-time comparison of what a viewer sent with the token."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("ascii"))
