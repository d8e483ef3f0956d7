"""The backend thread: the one thread that owns the daemon Session and does the file work.

A Session is not thread-safe, and saving a 4K crop takes a while, so the
window never calls either itself: it posts commands (`Open`, `Claim`,
`Submit`, `Undo`, ...) to this thread and the Tk loop polls the results
(`Done`, `Notice`, `Fatal`) with `after`. Quick commands (discover, open,
claim, release) go ahead of the file work, even between the images of a
submit, so the next batch is claimed and prefetched while crops are saved;
the file work (submit, undo, close) runs in the order it was posted, so an
undo always follows the submit it takes back.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from crop_client.multicrop.gui.services import Services, SessionLike
from crop_protocol.messages import ClaimedImage, Opened, Reported

# --- commands -------------------------------------------------------------------


@dataclass
class Discover:
    directories: list[str]


@dataclass
class Open:
    directory: str
    output_dir: str | None = None
    progress_dir: str | None = None
    reset: bool = False
    retry_skipped: bool = False
    retry_failed: bool = False
    move: bool = False
    leave_started: bool = False     # --no-resume: a directory with progress is left alone


@dataclass
class Claim:
    directory: str
    count: int


@dataclass
class Entry:
    item: ClaimedImage
    action: str                                   # crop, keep, skip, delete
    box: tuple[int, int, int, int] | None = None


@dataclass
class Submit:
    directory: str
    batch: str
    entries: list[Entry]


@dataclass
class Undo:
    directory: str


@dataclass
class Release:
    directory: str
    files: list[str] | None = None


@dataclass
class Close:
    pass


Command = Discover | Open | Claim | Submit | Undo | Release | Close
QUICK = (Discover, Open, Claim, Release)

# --- results --------------------------------------------------------------------


@dataclass
class Done:
    command: Command
    result: Any = None          # the reply, or a small summary of the work (see each handler)
    error: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Notice:
    text: str


@dataclass
class Fatal:
    """The window cannot go on: the daemon is unreachable (2) or the input is wrong (1)."""
    code: int
    message: str


Event = Done | Notice | Fatal


@dataclass
class SubmitResult:
    summary: Any                 # the last Reported.summary, or None when nothing was reported
    outcomes: dict[str, str]     # file -> outcome as reported (or "error")


class Backend:
    def __init__(self, services: Services, endpoint: str | None) -> None:
        self.services = services
        self.endpoint = endpoint
        self.events: queue.Queue[Event] = queue.Queue()
        self._quick: deque[Command] = deque()     # discover, open, claim, release
        self._slow: deque[Command] = deque()      # submit, undo, close: in order
        self._waiting = threading.Semaphore(0)    # one count per command posted
        self._lock = threading.Lock()
        self._session: SessionLike | None = None
        self._targets: dict[str, Any] = {}
        self._opened: dict[str, Opened] = {}
        self._thread = threading.Thread(target=self._run, name="multicrop-backend", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def post(self, command: Command) -> None:
        with self._lock:
            (self._quick if isinstance(command, QUICK) else self._slow).append(command)
            self._waiting.release()

    def _next(self, quick_only: bool = False) -> Command | None:
        """The next command to run: quick ones first. Blocks unless `quick_only`."""
        if quick_only:
            if not self._waiting.acquire(blocking=False):
                return None
        else:
            self._waiting.acquire()
        with self._lock:
            if self._quick:
                return self._quick.popleft()
            if quick_only:                      # only slow ones wait: put the count back
                self._waiting.release()
                return None
            return self._slow.popleft()

    def _run_quick(self) -> None:
        """Between two images of a submit: claims and the like go ahead."""
        while (command := self._next(quick_only=True)) is not None:
            self.events.put(self._execute(command))

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._session = self.services.make_session(
                self.endpoint, program="multicrop", on_notice=self._notice)
        except self.services.unavailable as error:
            self.events.put(Fatal(2, f"cannot reach the crop daemon: {error}"))
            return
        except Exception as error:
            self.events.put(Fatal(2, f"cannot start a session with the crop daemon: {error}"))
            return
        while True:
            command = self._next()
            assert command is not None
            if isinstance(command, Close):
                self._close()
                self.events.put(Done(command))
                return
            self.events.put(self._execute(command))

    def _notice(self, text: str) -> None:
        self.events.put(Notice(text))

    def _execute(self, command: Command) -> Event:
        try:
            return self._dispatch(command)
        except self.services.unavailable as error:
            if isinstance(command, Discover | Open) and not self._opened:
                return Fatal(2, f"cannot reach the crop daemon: {error}")
            return Done(command, error=f"daemon unavailable: {error}")
        except self.services.daemon_error as error:
            if isinstance(command, Discover):
                return Fatal(1, _one_line(error))
            return Done(command, error=_one_line(error))
        except Exception as error:   # a bug or a full disk must not kill the thread
            return Done(command, error=f"{type(error).__name__}: {_one_line(error)}")

    def _dispatch(self, command: Command) -> Event:
        session = self._session
        assert session is not None
        if isinstance(command, Discover):
            folders: list[str] = []
            for directory in command.directories:
                folders.extend(f for f in session.discover(directory) if f not in folders)
            return Done(command, folders)
        if isinstance(command, Open):
            if command.leave_started and not command.reset:
                summary = session.show(command.directory, command.progress_dir).summary
                if summary.session_count or summary.completed_count:
                    return Done(command, None, problems=[
                        f"{command.directory} has progress; left alone (--no-resume). "
                        "Use --reset-progress to start it afresh."])
            opened = session.open(command.directory, output_dir=command.output_dir,
                                  progress_dir=command.progress_dir, reset=command.reset,
                                  retry_skipped=command.retry_skipped,
                                  retry_failed=command.retry_failed, move=command.move)
            self._opened[command.directory] = opened
            self._targets[command.directory] = self.services.make_target(opened, command.move)
            return Done(command, opened)
        if isinstance(command, Claim):
            return Done(command, session.claim(command.directory, command.count))
        if isinstance(command, Submit):
            return self._submit(command)
        if isinstance(command, Undo):
            return self._undo(command)
        if isinstance(command, Release):
            return Done(command, session.release(command.directory, command.files))
        raise TypeError(f"unknown command {command!r}")

    def _submit(self, command: Submit) -> Done:
        target = self._targets[command.directory]
        summary = None
        outcomes: dict[str, str] = {}
        problems: list[str] = []
        for entry in command.entries:
            self._run_quick()
            decision = self.services.make_decision(entry.action, entry.box)
            try:
                reported: Reported = self.services.carry_out(
                    self._session, target, entry.item, decision, batch=command.batch)
            except Exception as error:   # daemon trouble or a full disk: say so, go on
                outcomes[entry.item.file] = "error"
                problems.append(f"{entry.item.file}: {_one_line(error)}")
                continue
            summary = reported.summary
            outcomes[entry.item.file] = entry.action
        return Done(command, SubmitResult(summary, outcomes), problems=problems)

    def _undo(self, command: Undo) -> Done:
        assert self._session is not None
        undone = self._session.undo(command.directory)
        target = self._targets[command.directory]
        problems: list[str] = []
        for item in undone.items:
            problems.extend(self.services.take_back(target, item))
        return Done(command, undone, problems=problems)

    def _close(self) -> None:
        if self._session is None:
            return
        try:
            self._session.close()
        except Exception as error:   # leaving anyway: the daemon frees leases of gone clients
            self.events.put(Notice(f"closing the session: {_one_line(error)}"))


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
