"""All of the daemon's state, owned by its one thread: clients, directories, the
journal events waiting to be written, and the reply cache for retried requests."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crop_progress.audit import OUTCOME_OPS, ClientRef, Event
from crop_progress.storage import FileStorage
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.clients import Client
from cropd.clock import Clock
from cropd.config import Config
from cropd.directory import Directory, Ident

if TYPE_CHECKING:
    from cropd.rescan import Rescanner

REPLIES_PER_CLIENT = 16  # a retry repeats one of a client's last few requests
# Events acknowledged to a client as done: fsynced before the reply. Claims and
# releases are written before the reply too (a killed daemon keeps them) and
# fsynced with the next outcome.
SYNCED_OPS = frozenset({*OUTCOME_OPS, "undo", "reset", "rebuild"})
# Events after which the progress file is written after the round's replies, and
# those after which it is written before them (a client that leaves, or one that
# reset or rebuilt a directory, finds the file up to date).
CHECKPOINT_OPS = frozenset({"session_start", "session_end", "reset", "rebuild"})
URGENT_OPS = frozenset({"session_end", "reset", "rebuild"})
REPLY_CACHE_BYTES = 8 << 20  # all cached replies together; the oldest go first
REPLY_MAX_BYTES = 1 << 20    # a larger reply is not kept (its retry runs again)


class Refusal(Exception):
    """Raised inside a handler to answer `Err(code, message)`; never leaves the dispatcher."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Ctx:
    client_id: str
    request_id: int
    peer: bytes = b""  # the routing id of the connection the request came over
    user: str | None = None  # the team member it came from (tcp); None: a local client
    address: str | None = None  # the member's IP address, as the connection shows it
    touched: set[Ident] = field(default_factory=set)


@dataclass
class Pending:
    progress_dir: Path
    event: Event
    sync: bool
    ident: Ident


class State:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.clock = Clock()
        self.started = time.monotonic()
        self.clients: dict[str, Client] = {}
        self.dirs: dict[Ident, Directory] = {}
        self.pending: list[Pending] = []
        self.replies: dict[str, OrderedDict[int, bytes]] = {}
        self.reply_order: OrderedDict[tuple[str, int], int] = OrderedDict()  # -> its size
        self.reply_bytes = 0
        self.stopping = False
        self.last_busy = time.monotonic()
        self.storages: dict[Path, FileStorage] = {}
        self.rescanner: Rescanner | None = None  # the server's; None: no rescans (tests)
        # Status of directories not loaded, by progress file: (file signature, summary)
        self.summaries: dict[Path, tuple[tuple[int, int, int] | None, m.Summary]] = {}

    def storage(self, progress_dir: Path) -> FileStorage:
        """The progress files and journal of a progress folder (its day file kept open)."""
        found = self.storages.get(progress_dir)
        if found is None:
            found = self.storages[progress_dir] = FileStorage(progress_dir,
                                                              self.config.break_threshold)
        return found

    # -- clients ------------------------------------------------------------
    def client(self, ctx: Ctx) -> Client:
        client = self.clients.get(ctx.client_id)
        if client is None:
            raise Refusal(ErrorCode.UNKNOWN_CLIENT,
                          "unknown client: say Hello first (the daemon may have restarted)")
        client.last_seen = time.monotonic()
        return client

    def directory_of(self, ctx: Ctx, directory: str) -> Directory:
        """A directory this client opened, by the path it was opened under."""
        client = self.client(ctx)
        key = directory if directory.endswith(os.sep) else directory + os.sep
        for ident in client.dirs:
            if ident[1] == key:
                return self.dirs[ident]
        if not os.path.isabs(directory):
            raise Refusal(ErrorCode.BAD_REQUEST, f"not an absolute path: {directory!r}")
        resolved = str(Path(directory).resolve()) + os.sep
        for ident in client.dirs:
            if ident[1] == resolved:
                return self.dirs[ident]
        raise Refusal(ErrorCode.UNKNOWN_DIRECTORY,
                      f"{directory} is not open in this client: send Open first")

    # -- the journal ----------------------------------------------------------
    def emit(self, directory: Directory, op: str, *, client: Client | None = None,
             ctx: Ctx | None = None, **fields: object) -> Event:
        """Make an audit event, apply it, and queue it for the journal."""
        ref = ClientRef(pid=client.pid, host=client.host, id=client.id,
                        program=client.program, user=client.user) if client else None
        event = Event(ts=self.clock.now(), op=op, directory=directory.key, client=ref,
                      **fields)  # type: ignore[arg-type]
        directory.tracker.apply(event)
        self.pending.append(Pending(directory.progress_dir, event, op in SYNCED_OPS,
                                    directory.ident))
        directory.note_change(op in OUTCOME_OPS or op == "undo")
        if op in CHECKPOINT_OPS:
            directory.dirty = True
            directory.urgent |= op in URGENT_OPS
        if ctx is not None:
            ctx.touched.add(directory.ident)
        return event

    # -- retried requests -------------------------------------------------------
    def cached_reply(self, client_id: str, request_id: int) -> bytes | None:
        cache = self.replies.get(client_id)
        return cache.get(request_id) if cache is not None else None

    def cache_reply(self, client_id: str, request_id: int, data: bytes) -> None:
        if client_id not in self.clients or len(data) > REPLY_MAX_BYTES:
            return  # no Hello: nobody will retry
        self._uncache(client_id, request_id)
        cache = self.replies.setdefault(client_id, OrderedDict())
        cache[request_id] = data
        self.reply_order[(client_id, request_id)] = len(data)
        self.reply_bytes += len(data)
        while len(cache) > REPLIES_PER_CLIENT:
            self._uncache(client_id, next(iter(cache)))
        while self.reply_bytes > REPLY_CACHE_BYTES:
            self._uncache(*next(iter(self.reply_order)))

    def _uncache(self, client_id: str, request_id: int) -> None:
        size = self.reply_order.pop((client_id, request_id), None)
        if size is None:
            return
        self.reply_bytes -= size
        cache = self.replies.get(client_id)
        if cache is not None:
            cache.pop(request_id, None)
            if not cache:
                del self.replies[client_id]

    def forget_client(self, client_id: str) -> None:
        self.clients.pop(client_id, None)
        for request_id in list(self.replies.get(client_id, ())):
            self._uncache(client_id, request_id)
        self.replies.pop(client_id, None)
