"""Status: the daemon, and every directory it knows (loaded, or a file in a progress dir)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import msgspec

from crop_progress import __version__, naming, overview, store
from crop_protocol import messages as m
from cropd.handlers.common import summary
from cropd.state import Ctx, State


def daemon_info(state: State) -> m.DaemonInfo:
    return m.DaemonInfo(running=True, pid=os.getpid(), version=__version__,
                        endpoint=state.config.endpoint,
                        progress_dir=str(state.config.progress_dir),
                        uptime_seconds=round(time.monotonic() - state.started, 1),
                        clients=len(state.clients),
                        events_endpoint=state.config.events_endpoint)


def handle(state: State, ctx: Ctx, req: m.Status) -> m.StatusReply:
    rows: dict[str, m.Summary] = {}
    for directory in state.dirs.values():
        rows[str(directory.progress_file)] = summary(directory)
    folders = {state.config.progress_dir} | {d.progress_dir for d in state.dirs.values()}
    problems = []
    for folder in sorted(folders):
        for path in naming.progress_files(Path(folder)):
            if str(path) in rows:
                continue
            try:
                loaded = store.read(path)
            except (store.DamagedFileError, store.FutureSchemaError, store.StoreError) as exc:
                problems.append(f"{path.name}: {exc}")
                continue
            if loaded is not None:
                fields = overview.from_progress(loaded.progress, str(path))
                rows[str(path)] = msgspec.convert(fields, m.Summary)
    return m.StatusReply(daemon=daemon_info(state), directories=list(rows.values()),
                         problems=problems)
