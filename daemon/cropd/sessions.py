"""Work sessions of a directory: one starts with the first Open after a pause and
ends when its last client goes; `.bak` is the state at the end of the previous one."""

from __future__ import annotations

import time

from crop_progress.timefmt import iso_to_epoch
from cropd.clients import Client
from cropd.directory import Directory
from cropd.state import State


def begin(state: State, directory: Directory, client: Client) -> bool:
    """Start a session unless one is running; returns True when one started."""
    tracker = directory.tracker
    session = tracker.open_session
    if session is not None:
        if directory.clients or _recent(state, tracker.progress.last_event_at or session.start):
            return False  # a running session (or one a restarted daemon picks up again)
        state.emit(directory, "session_end", client=client)
    if directory.keep_bak:
        directory.keep_bak = False  # .bak already holds the previous state (migration, reset)
    else:
        directory.backup_due = True  # taken before this session's first checkpoint
    state.emit(directory, "session_start", client=client)
    return True


def end_if_unattended(state: State, directory: Directory) -> None:
    if not directory.clients and directory.tracker.open_session is not None:
        state.emit(directory, "session_end")


def _recent(state: State, stamp: str) -> bool:
    return time.time() - iso_to_epoch(stamp) <= state.config.break_threshold
