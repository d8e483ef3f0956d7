"""Status: the daemon, and every directory it knows (loaded, or a file in a progress dir)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import msgspec

from crop_progress import __version__, naming, overview, recovery, shares, store
from crop_progress.paths import audit_dir
from crop_protocol import messages as m
from cropd.directory import file_signature
from cropd.handlers.common import holders, summary
from cropd.state import Ctx, State


def daemon_info(state: State) -> m.DaemonInfo:
    return m.DaemonInfo(running=True, pid=os.getpid(), version=__version__,
                        endpoint=state.config.endpoint,
                        progress_dir=str(state.config.progress_dir),
                        uptime_seconds=round(time.monotonic() - state.started, 1),
                        clients=len(state.clients),
                        events_endpoint=state.config.events_endpoint,
                        listen=state.config.listen,
                        break_threshold=state.config.break_threshold)


def _unloaded(state: State, path: Path) -> m.Summary | None:
    """The summary of a directory not loaded: its checkpoint plus the journal after it,
    read once while the file stays the same (nothing else writes its events)."""
    signature = file_signature(path)
    cached = state.summaries.get(path)
    if cached is not None and cached[0] == signature:
        return cached[1]
    loaded = store.read(path)
    if loaded is None:
        return None
    progress, _ = recovery.caught_up(loaded.progress, audit_dir(path.parent))
    found = msgspec.convert(overview.from_progress(progress, str(path)), m.Summary)
    state.summaries[path] = (signature, found)
    return found


def handle(state: State, ctx: Ctx, req: m.Status) -> m.StatusReply:
    rows: dict[str, m.Summary] = {}
    for directory in state.dirs.values():
        row = rows[str(directory.progress_file)] = summary(directory)
        row.holders = holders(state, directory)
    folders = {state.config.progress_dir} | {d.progress_dir for d in state.dirs.values()}
    problems = []
    for folder in sorted(folders):
        for path in naming.progress_files(Path(folder)):
            if str(path) in rows:
                continue
            try:
                found = _unloaded(state, path)
            except (store.DamagedFileError, store.FutureSchemaError, store.StoreError) as exc:
                problems.append(f"{path.name}: {exc}")
                continue
            if found is not None:
                rows[str(path)] = found
    listed = list(rows.values())
    if ctx.user is not None:  # a member sees the team's directories, not the host's own
        listed = [row for row in listed if shares.split_key(row.directory) is not None]
    return m.StatusReply(daemon=daemon_info(state), directories=listed, problems=problems)
