"""`multicrop --auto keep|center|suggest` and `--show-progress`: the crop tool without a window.

Prints the seed's start/resume messages, a line per image and the progress
display as it goes, in multi-directory mode directory by directory. A corrupt
image is reported `failed` with its reason and the run goes on.
"""

from __future__ import annotations

import shlex
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from crop_client import imageops, shaping
from crop_client.aspect import center_box
from crop_client.errors import DaemonError, DaemonUnavailable, explain, unavailable_line
from crop_client.multicrop.options import Options
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out
from crop_progress.commandline import EXIT_DAEMON, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK
from crop_progress.display import progress_lines, start_lines
from crop_progress.timefmt import format_duration
from crop_protocol import messages as m

DISPLAY_EVERY = 10
MARK = {"cropped": "✂️ ", "kept": "✅", "skipped": "⏭️ ", "failed": "⚠️ ", "deleted": "🗑️ "}


def say(text: str = "") -> None:
    print(text, flush=True)


class _CtrlC:
    """The first Ctrl+C asks the run to stop after the image in hand (a flag the loop
    checks), the second stops at once. Python's own KeyboardInterrupt can be lost when
    it lands in a finalizer ("Exception ignored in ..."), and then the run would go on
    and exit 0; a flag cannot be lost."""

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Any = None

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._press)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _press(self, signum: int, frame: object) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    def check(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt


CTRL_C = _CtrlC()


def run_auto(options: Options) -> int:
    with CTRL_C:
        return _run_auto(options)


def _run_auto(options: Options) -> int:
    try:
        session = Session(options.endpoint, program="multicrop --auto")
    except DaemonUnavailable as exc:
        print(f"multicrop: {unavailable_line(exc)}", file=sys.stderr)
        return EXIT_DAEMON
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    try:
        return _run(session, options)
    except DaemonUnavailable as exc:
        print(f"multicrop: lost the progress daemon: {exc}", file=sys.stderr)
        return EXIT_DAEMON
    except DaemonError as exc:
        message, code = explain(exc) or (exc.message, EXIT_INPUT)
        print(f"multicrop: {message}", file=sys.stderr)
        return code
    except OSError as exc:
        print(f"multicrop: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        say("\n⏸️  Stopped (Ctrl+C). Everything reported so far is saved; run again to resume.")
        return EXIT_INTERRUPTED
    finally:
        session.close()


def _run(session: Session, options: Options) -> int:
    work_dirs: list[str] = []
    for folder in options.directories:
        found = session.discover(folder)
        if not found:
            print(f"multicrop: no images in {folder} or its subfolders", file=sys.stderr)
        work_dirs += found
    left = options.limit
    for index, directory in enumerate(work_dirs):
        if index:
            say()
        if options.show_progress:
            _show(session, directory, options)
            continue
        done = _one_directory(session, directory, options, left)
        if left is not None:
            left -= done
            if left <= 0:
                say(f"⏸️  Stopped after {options.limit} image(s) (--limit); run again to resume")
                break
    return EXIT_OK


def _show(session: Session, directory: str, options: Options) -> None:
    shown = session.show(directory, options.progress_dir)
    s = shown.summary
    for line in start_lines(s):
        say(line)
    for line in progress_lines(s.directory, s.completed_count, s.total_images,
                               s.last_processed_file, s.session_images,
                               s.session_work_seconds, s.eta_seconds):
        say(line)
    say(f"Skipped: {s.skipped_count}, failed: {s.failed_count}, deleted: {s.deleted_count}, "
        f"work time in all: {format_duration(s.work_seconds)}")


def _one_directory(session: Session, directory: str, options: Options,
                   left: int | None) -> int:
    """Work one directory until nothing is left (or the limit); returns images done."""
    if not options.resume and not options.reset_progress:
        shown = session.show(directory, options.progress_dir)
        if shown.summary.session_count or shown.summary.completed_count:
            say(f"⏭️  {directory} has progress; left alone (--no-resume). "
                "Use --reset-progress to start it afresh.")
            return 0
    opened = session.open(directory, output_dir=options.output_dir,
                          progress_dir=options.progress_dir, reset=options.reset_progress,
                          retry_skipped=options.retry_skipped, retry_failed=options.retry_failed,
                          move=options.move,
                          output_shape=options.shape.text() if options.shape else None)
    summary = opened.summary
    opening = start_lines(summary)
    for line in opening:
        say(line)
    for note in opened.messages:
        say(f"⚠️  {note}")
    target = Target.from_opened(opened, options.move)
    target.png_level = options.png_level
    stored = summary.output_shape or (options.shape.text() if options.shape else None)
    target.shape = shaping.parse(stored) if stored else None
    done = 0
    last: m.Summary = summary
    current = None
    while left is None or done < left:
        CTRL_C.check()
        want = options.per_batch if left is None else min(options.per_batch, left - done)
        claimed = session.claim(target.directory, want)
        if not claimed.items:
            break
        batch = uuid.uuid4().hex[:12]
        for item in claimed.items:
            decision = _decide(item, options)
            try:
                reported = carry_out(session, target, item, decision, batch=batch)
            except DaemonError as exc:
                if exc.code != "LEASE_LOST":
                    raise
                say(f"↪️  {item.file}: taken over by another window; left to it")
                continue
            last = reported.summary
            current = item.file
            done += 1
            outcome = reported.outcome
            say(f"{MARK.get(outcome, '•')} [{item.position}/{last.total_images}] {item.file}"
                f"{'' if outcome in ('cropped', 'kept') else ' ' + outcome}")
            if target.shape is not None and decision.box is not None:
                warning = shaping.plan(target.shape, decision.box[2] - decision.box[0],
                                       decision.box[3] - decision.box[1]).warning
                if warning:
                    say(f"⚠️  {item.file}: {warning}")
            if done % DISPLAY_EVERY == 0:
                _display(last, current)
            CTRL_C.check()
    if done == 0 and last.remaining == 0:
        if not any("Nothing left" in line for line in opening):
            say("✅ Nothing left to do in this directory")
        say(f"↩️  To do it again from the start: multicrop {shlex.quote(directory)} "
            "--reset-progress (the old progress is kept as .bak)")
    _display(last, current)
    return done


def _display(s: m.Summary, current: str | None) -> None:
    for line in progress_lines(s.directory, s.completed_count, s.total_images,
                               current or s.last_processed_file, s.session_images,
                               s.session_work_seconds, s.eta_seconds):
        say(line)


def _decide(item: m.ClaimedImage, options: Options) -> Decision:
    if options.auto == "keep":
        return Decision("keep")
    try:
        width, height = imageops.oriented_size(Path(item.path))
    except (imageops.ImageError, OSError):
        return Decision("keep")  # carry_out finds the same problem and reports it failed
    ratio = options.aspect.for_image(width, height)
    if options.auto == "suggest":
        return Decision("crop", _suggested(item, width, height, ratio))
    return Decision("crop", center_box(width, height, ratio))


def _suggested(item: m.ClaimedImage, width: int, height: int,
               ratio: float | None) -> tuple[int, int, int, int]:
    """The content-aware crop (suggest.py) from a reduced decode; a `.decision` wins."""
    from crop_client import suggest
    from crop_client.multicrop.gui.geometry import suggestion_box
    from crop_client.multicrop.gui.preview import load_picture
    from crop_client.multicrop.gui.suggestion import suggestion_for

    given = suggestion_for(item.path, list(item.companions)).coords
    box = suggestion_box(given, width, height) if given else None
    if box is not None:
        return box.pixels(width, height)
    try:
        picture, _ = load_picture(item.path, (suggest.WORK_SIDE * 2, suggest.WORK_SIDE * 2))
    except Exception:   # unreadable: the file work reports it failed
        return center_box(width, height, ratio)
    return suggest.suggest_box(picture, width, height, ratio)
