"""What a team member (a client over tcp) may ask: work on the shares, nothing else.

The daemon's owner keeps what only makes sense at the daemon's host: stopping
it, choosing a progress folder. A member names only directories (and output
folders) on the daemon's shares, so a key handed to a workstation opens
nothing else of the daemon's host. A report's paths are checked as everyone's
are (in the output folder, or a trash).
"""

from __future__ import annotations

from pathlib import Path

from crop_progress import shares
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.state import Refusal

OWNER_ONLY = (m.Shutdown,)
PATHS = ("directory", "output_dir")


def check(user: str, request: m.Request) -> None:
    """Raise Refusal(NOT_ALLOWED) for what member `user` may not ask."""
    if isinstance(request, OWNER_ONLY):
        raise Refusal(ErrorCode.NOT_ALLOWED,
                      f"{type(request).__name__} is for the daemon's host, not member {user}")
    if getattr(request, "progress_dir", None):
        raise Refusal(ErrorCode.NOT_ALLOWED, "a team member cannot choose the daemon's "
                      "progress folder (it lives on the daemon's host)")
    mounted = shares.load()
    for field in PATHS:
        text = getattr(request, field, None)
        if not text or shares.split_key(text) is not None:
            continue
        if shares.locate(Path(text).resolve(), mounted) is None:
            where = ", ".join(f"{n} ({p})" for n, p in sorted(mounted.items())) or "none"
            raise Refusal(ErrorCode.NOT_ALLOWED,
                          f"{text} is on none of the team's shares (the daemon's: {where})")
