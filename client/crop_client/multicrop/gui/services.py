"""What the window needs from the rest of crop_client, behind one small seam.

The window talks to the daemon through `crop_client.session.Session` and
does the file work through `crop_client.work`. `Services` bundles those
entry points so tests can hand in doubles; `real_services()` is what
`multicrop` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from crop_protocol.messages import (
    Claimed,
    ClaimedImage,
    Opened,
    Reported,
    Undone,
    UndoneItem,
)


class SessionLike(Protocol):
    def open(self, directory: str, *, output_dir: str | None = None,
             progress_dir: str | None = None, reset: bool = False,
             retry_skipped: bool = False, retry_failed: bool = False,
             move: bool = False, read_only: bool = False) -> Opened: ...
    def discover(self, directory: str) -> list[str]: ...
    def show(self, directory: str, progress_dir: str | None = None) -> Any: ...
    def claim(self, directory: str, count: int = 1) -> Claimed: ...
    def undo(self, directory: str) -> Undone: ...
    def release(self, directory: str, files: list[str] | None = None) -> int: ...
    def close(self) -> None: ...


@dataclass
class Services:
    """Factories and functions of crop_client that the window calls, in its backend thread."""

    make_session: Callable[..., SessionLike]            # Session(endpoint, program=, on_notice=)
    make_target: Callable[[Opened, bool], Any]           # Target.from_opened(opened, move)
    make_decision: Callable[[str, tuple[int, int, int, int] | None], Any]   # Decision
    carry_out: Callable[..., Reported]                   # (session, target, item, decision, batch=)
    take_back: Callable[[Any, UndoneItem], list[str]]    # (target, undone item) -> problems
    unavailable: tuple[type[BaseException], ...] = ()    # DaemonUnavailable
    daemon_error: tuple[type[BaseException], ...] = ()   # DaemonError


def real_services() -> Services:
    from crop_client import work
    from crop_client.session import DaemonError, DaemonUnavailable, Session

    return Services(
        make_session=Session,
        make_target=work.Target.from_opened,
        make_decision=lambda action, box: work.Decision(action, box),  # type: ignore[arg-type]
        carry_out=work.carry_out,
        take_back=work.take_back,
        unavailable=(DaemonUnavailable,),
        daemon_error=(DaemonError,),
    )


__all__ = ["Claimed", "ClaimedImage", "Services", "SessionLike", "real_services"]
