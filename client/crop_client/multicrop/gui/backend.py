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

import contextlib
import os
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from crop_client.multicrop.gui.services import Services
from crop_protocol.messages import Claim, ClaimedImage, Opened, Release, Reported, Undo

# --- commands -------------------------------------------------------------------
# Claim, Undo and Release are the wire requests themselves (crop_protocol.messages); the
# commands below say more than a request does (what to do on this side).


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
    output_shape: str | None = None  # --fit/--max-side/--exact as stored (shaping.py)


@dataclass
class Jump:
    """`g`: lease image N (1-based, in name order) or the image named `query`, and the ones
    after it up to `count`."""
    directory: str
    query: str
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
class Close:
    pass


SAVERS = max(2, min(3, os.cpu_count() or 2))   # images of a batch saved at once

Command: TypeAlias = Discover | Open | Claim | Jump | Submit | Undo | Release | Close
QUICK = (Discover, Open, Claim, Jump, Release)


class JumpError(Exception):
    """`g` named no image of the folder; the text says so in one line."""

# --- results --------------------------------------------------------------------


@dataclass
class Done:
    command: Command
    result: Any = None          # the reply, or a small summary of the work (see each handler)
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    code: str | None = None         # the daemon's error code, when it refused
    message: str | None = None      # the error without its code, for people


@dataclass
class Notice:
    text: str


@dataclass
class Saved:
    """One image of a submit is written and reported (the "saving n…" count goes down)."""
    directory: str
    file: str
    batch: str


@dataclass
class Fatal:
    """The window cannot go on: the daemon is unreachable (2) or the input is wrong (1)."""
    code: int
    message: str


Event = Done | Notice | Saved | Fatal


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
        self._session: Any = None     # a Serialized SessionLike
        self._targets: dict[str, Any] = {}
        self._opened: dict[str, Opened] = {}
        self._thread = threading.Thread(target=self._run, name="multicrop-backend", daemon=True)
        self._savers = ThreadPoolExecutor(max_workers=SAVERS, thread_name_prefix="multicrop-save",
                                          initializer=_behind_the_window)

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
            self._session = Serialized(self.services.make_session(
                self.endpoint, program="multicrop", on_notice=self._notice))
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
            return Done(command, error=_one_line(error), code=getattr(error, "code", None),
                        message=getattr(error, "message", None))
        except JumpError as error:
            return Done(command, error=str(error), message=str(error))
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
                                  retry_failed=command.retry_failed, move=command.move,
                                  output_shape=command.output_shape)
            self._opened[command.directory] = opened
            shape = opened.summary.output_shape or command.output_shape
            self._targets[command.directory] = self.services.make_target(
                opened, command.move, shape)
            return Done(command, opened)
        if isinstance(command, Claim):
            return Done(command, session.claim(command.directory, command.count))
        if isinstance(command, Jump):
            names = _jump_names(command)
            return Done(command, session.claim(command.directory, files=names))
        if isinstance(command, Submit):
            return self._submit(command)
        if isinstance(command, Undo):
            return self._undo(command)
        if isinstance(command, Release):
            return Done(command, session.release(command.directory, command.files))
        raise TypeError(f"unknown command {command!r}")

    def _submit(self, command: Submit) -> Done:
        """The images' file work runs in `SAVERS` threads at once (Pillow lets go of the GIL
        while it encodes, so both cores work); the backend thread meanwhile runs claims and
        the like, and collects the results in order."""
        target = self._targets[command.directory]
        outcomes: dict[str, str] = {}
        problems: list[str] = []
        futures = [(entry, self._savers.submit(
            self.services.carry_out, self._session, target, entry.item,
            self.services.make_decision(entry.action, entry.box), batch=command.batch))
            for entry in command.entries]
        summary = None
        for entry, future in futures:
            while True:
                self._run_quick()
                try:
                    reported: Reported = future.result(timeout=0.02)
                    break
                except TimeoutError:
                    continue
                except Exception as error:   # daemon trouble or a full disk: say so, go on
                    outcomes[entry.item.file] = "error"
                    problems.append(f"{entry.item.file}: {_one_line(error)}")
                    reported = None  # type: ignore[assignment]
                    break
            if reported is None:
                continue
            # reports of one batch arrive in any order; within one submit the counts only
            # grow, so the largest is the newest
            if summary is None or _count(reported.summary) >= _count(summary):
                summary = reported.summary
            outcomes[entry.item.file] = entry.action
            self.events.put(Saved(command.directory, entry.item.file, command.batch))
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
        self._savers.shutdown(wait=True)
        if self._session is None:
            return
        try:
            self._session.close()
        except Exception as error:   # leaving anyway: the daemon frees leases of gone clients
            self.events.put(Notice(f"closing the session: {_one_line(error)}"))


SAVER_NICE = 8   # how much the saving threads give way to decoding the next batch


def _behind_the_window() -> None:
    """A saving thread runs at a lower priority (Linux sets it per thread), so that the
    next batch's pictures decode first: the person never waits on a save."""
    # not Linux, or not allowed: save at normal priority
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SAVER_NICE)


def _count(summary: Any) -> tuple[int, int]:
    return (summary.completed_count, summary.session_images)


class Serialized:
    """A Session used from the backend thread and the saving threads: one call at a time
    (a Session's connection is not thread-safe)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._session, name)
        if not callable(value):
            return value

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)
        return locked


def _jump_names(command: Jump) -> list[str]:
    from pathlib import Path

    from crop_progress.scan import scan_directory

    images = scan_directory(Path(command.directory)).images
    query = command.query.strip()
    if query.isdigit():
        index = int(query) - 1
        if not 0 <= index < len(images):
            raise JumpError(f"there is no image {query}: the folder has {len(images)}")
    else:
        matches = [i for i, name in enumerate(images) if name == query] or \
            [i for i, name in enumerate(images) if name.lower().startswith(query.lower())]
        if not matches:
            raise JumpError(f"no image named {query!r} in this folder")
        index = matches[0]
    return images[index:index + max(1, command.count)]


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
