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
             move: bool = False, read_only: bool = False,
             output_shape: str | None = None) -> Opened: ...
    def discover(self, directory: str) -> list[str]: ...
    def show(self, directory: str, progress_dir: str | None = None) -> Any: ...
    def claim(self, directory: str, count: int = 1, *,
              files: list[str] | None = None) -> Claimed: ...
    def undo(self, directory: str) -> Undone: ...
    def release(self, directory: str, files: list[str] | None = None) -> int: ...
    def close(self) -> None: ...


@dataclass
class Services:
    """Factories and functions of crop_client that the window calls, in its backend thread."""

    make_session: Callable[..., SessionLike]            # Session(endpoint, program=, on_notice=)
    make_target: Callable[[Opened, bool, str | None], Any]   # (opened, move, output_shape)
    make_decision: Callable[[str, tuple[int, int, int, int] | None], Any]   # Decision
    carry_out: Callable[..., Reported]                   # (session, target, item, decision, batch=)
    take_back: Callable[[Any, UndoneItem], list[str]]    # (target, undone item) -> problems
    unavailable: tuple[type[BaseException], ...] = ()    # DaemonUnavailable
    daemon_error: tuple[type[BaseException], ...] = ()   # DaemonError


def real_services(png_level: int | None = None) -> Services:
    from crop_client import shaping, work
    from crop_client.session import DaemonError, DaemonUnavailable, Session

    def make_session(endpoint: str | None, **kwargs: Any) -> SessionLike:
        return Session(endpoint, **kwargs)

    def make_target(opened: Opened, move: bool, shape: str | None) -> Any:
        target = work.Target.from_opened(opened, move)
        target.shape = shaping.parse(shape) if shape else None
        target.png_level = png_level
        return target

    return Services(
        make_session=make_session,
        make_target=make_target,
        make_decision=lambda action, box: work.Decision(action, box),  # type: ignore[arg-type]
        carry_out=work.carry_out,
        take_back=work.take_back,
        unavailable=(DaemonUnavailable,),
        daemon_error=(DaemonError,),
    )


__all__ = ["Claimed", "ClaimedImage", "Services", "SessionLike", "real_services"]
