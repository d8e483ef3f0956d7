"""The window's flow without Tk: folders, claims in flight, history, summaries, saving.

`Flow` takes events (backend results, keys and buttons as actions, decoded
previews, edited rectangles) and returns commands (`Post` to the backend,
`Decode` a batch, `Later` a timer, `Log` a milestone, `Finish`, `Fail`); its
`view()` is the render model the window draws (view.py). The rules for one
rectangle (nudges, snaps, adopting, `g`) are its part in precision.py. Nothing
here touches a widget, so every rule of the window is tested without a display
(tests/gui/test_gui_flow.py).
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from crop_client import shaping
from crop_client.multicrop.gui import backend as bk
from crop_client.multicrop.gui.batch import AspectState, Batch, Slot, batch_from_undone
from crop_client.multicrop.gui.geometry import MIN_CROP, Box
from crop_client.multicrop.gui.precision import EDGES, Precision
from crop_client.multicrop.gui.preview import Preview
from crop_client.multicrop.gui.view import ColumnView, View, box_text, caption, screen_text
from crop_client.multicrop.options import Options
from crop_progress import display
from crop_protocol.messages import Claimed, Opened, Summary, Undone

RETRY_CLAIM_MS = 4000        # when other windows hold the rest, look again this often
CLOSE_TIMEOUT_MS = 60000     # give up waiting for the backend when quitting
STATUS_LINES = 5
HISTORY = 20                 # submitted batches kept (with their pictures) for undo

# --- commands -----------------------------------------------------------------------


@dataclass
class Post:
    command: bk.Command


@dataclass
class Decode:
    batch: Batch


@dataclass
class Later:
    ms: int
    what: str                # "retry" or "close_timeout"


@dataclass
class Log:
    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Print:
    lines: list[str]


@dataclass
class Finish:
    pass


@dataclass
class Fail:
    code: int
    message: str


Out = Post | Decode | Later | Log | Print | Finish | Fail


class Flow(Precision):
    def __init__(self, options: Options, columns: int,
                 shape: shaping.Shape | None = None, suggest: bool = False) -> None:
        self.options = options
        self.columns = max(1, min(3, columns))
        self.aspect = AspectState(options.aspect)
        self.shape = shape
        self.suggest = suggest
        self.folders: list[str] = []
        self.folder_index = -1
        self.discovered = False
        self.opened: dict[str, Opened] = {}
        self.summaries: dict[str, Summary] = {}
        self.held_by_others: dict[str, int] = {}
        self.saving = 0                       # submitted images not yet reported
        self.saved: dict[str, int] = {}       # batch id -> images reported so far
        self.auto_advance = True
        self.waiting: deque[Batch] = deque()
        self.shown: Batch | None = None
        self.history: list[Batch] = []
        self.claim_pending = False
        self.exhausted = False
        self.warned: str | None = None
        self.closing = False
        self.messages: list[str] = []
        self.alert = ""
        self.done_text = ""
        self.help = False
        self.jump = False
        self.active = 0                       # the column the nudge and adopt keys act on
        self.edge = 0                         # index in EDGES
        self.serials = itertools.count(1)
        self.first_shown: set[str] = set()    # folders whose first batch was shown
        self.retry_scheduled = False
        self.finished = False                 # the all-done screen is up

    # --- where we are --------------------------------------------------------------------

    @property
    def folder(self) -> str | None:
        return self.folders[self.folder_index] if 0 <= self.folder_index < len(self.folders) \
            else None

    def start(self) -> list[Out]:
        return [Log("window"), Post(bk.Discover([str(d) for d in self.options.directories]))]

    # --- backend events ------------------------------------------------------------------

    def handle(self, event: bk.Event) -> list[Out]:
        if isinstance(event, bk.Fatal):
            return self._fail(event.code, event.message)
        if isinstance(event, bk.Notice):
            self._say(event.text)
            return []
        if isinstance(event, bk.Saved):
            self.saved[event.batch] = self.saved.get(event.batch, 0) + 1
            self.saving = max(0, self.saving - 1)
            self._closing_text()
            return []
        if isinstance(event.command, bk.Close):
            return [Finish()]
        if event.error is not None:
            return self._command_failed(event)
        return self._command_done(event)

    def _command_done(self, event: bk.Done) -> list[Out]:
        command, result = event.command, event.result
        if isinstance(command, bk.Discover):
            return self._discovered(result)
        if isinstance(command, bk.Open):
            if result is None:             # left alone (--no-resume)
                self.alert = " ".join(event.problems)
                if command.directory == self.folder:
                    return self._move_folder(+1, auto=True)
                return []
            return self._opened(command.directory, result)
        if isinstance(command, bk.Claim | bk.Jump):
            return self._claimed(command.directory, result, jump=isinstance(command, bk.Jump))
        if isinstance(command, bk.Submit):
            return self._submitted(command, result, event.problems)
        if isinstance(command, bk.Undo):
            return self._undone(command.directory, result, event.problems)
        return []

    def _command_failed(self, event: bk.Done) -> list[Out]:
        command = event.command
        if isinstance(command, bk.Open):
            if not self.opened and self.shown is None and not self.waiting:
                return self._fail(1, f"cannot open {command.directory}: {event.error}")
            self.alert = f"cannot open {display.label(command.directory)}: {event.error}"
            return self._move_folder(+1, auto=True)
        if isinstance(command, bk.Undo) and event.code == "NOTHING_TO_UNDO":
            self.alert = "Nothing to undo in this folder."
            return []
        if isinstance(command, bk.Jump):
            self.alert = f"go to {command.query!r}: {event.message or event.error}"
            return []
        out: list[Out] = []
        if isinstance(command, bk.Claim):   # the daemon may be restarting: ask again soon
            self.claim_pending = False
            out.append(Later(RETRY_CLAIM_MS // 2, "claims"))
        if isinstance(command, bk.Submit):
            self.saving = max(0, self.saving - len(command.entries)
                              + self.saved.pop(command.batch, 0))
        self.alert = f"{type(command).__name__.lower()}: {event.message or event.error}"
        return out

    # --- folders ---------------------------------------------------------------------------

    def _discovered(self, folders: list[str]) -> list[Out]:
        self.folders = list(folders)
        self.discovered = True
        if not self.folders:
            self.done_text = "No images found in " + ", ".join(
                str(d) for d in self.options.directories)
            return []
        return self._enter_folder(0)

    def _enter_folder(self, index: int) -> list[Out]:
        self.folder_index = index
        self.exhausted = False
        self.finished = False
        self.done_text = ""
        self.alert = ""
        self.warned = None
        folder = self.folders[index]
        if folder in self.opened:
            self.messages = display.start_lines(self.opened[folder].summary)[-STATUS_LINES:]
            return self.ensure_claims()
        options = self.options
        return [Post(bk.Open(
            folder, output_dir=_text(options.output_dir), progress_dir=_text(options.progress_dir),
            reset=options.reset_progress, retry_skipped=options.retry_skipped,
            retry_failed=options.retry_failed, move=options.move,
            leave_started=not options.resume,
            output_shape=self.shape.text() if self.shape else None))]

    def _opened(self, folder: str, opened: Opened) -> list[Out]:
        self.opened[folder] = opened
        self.summaries[folder] = opened.summary
        lines = display.start_lines(opened.summary)
        out: list[Out] = [Print(lines + list(opened.messages))]
        self.messages = (lines + list(opened.messages))[-STATUS_LINES:]
        if folder == self.folder:
            out += self.ensure_claims()
        return out

    def _move_folder(self, step: int, auto: bool = False) -> list[Out]:
        index = self.folder_index + step
        if not 0 <= index < len(self.folders):
            if auto:
                return self._show_done()
            self.alert = "This is the last folder." if step > 0 else "This is the first folder."
            return []
        out = self._drop_claims()
        self.auto_advance = step > 0
        return out + self._enter_folder(index)

    def _drop_claims(self) -> list[Out]:
        """Give back what this window holds in the current folder (not submitted)."""
        folder = self.folder
        files = [f for batch in ([self.shown] if self.shown else []) + list(self.waiting)
                 for f in batch.files]
        self.waiting.clear()
        self.shown = None
        if folder and files:
            return [Post(bk.Release(directory=folder, files=files))]
        return []

    # --- claims and previews -------------------------------------------------------------------

    def ensure_claims(self) -> list[Out]:
        folder = self.folder
        if (folder is None or folder not in self.opened or self.claim_pending
                or self.exhausted or self.closing):
            return []
        if self.shown is None or len(self.waiting) < 1:
            self.claim_pending = True
            return [Post(bk.Claim(directory=folder, count=self.columns))]
        return []

    def _claimed(self, folder: str, claimed: Claimed, jump: bool = False) -> list[Out]:
        if not jump:
            self.claim_pending = False
        out: list[Out] = [Log("claimed", {"files": [i.file for i in claimed.items]})]
        self.summaries[folder] = claimed.summary
        self.held_by_others[folder] = claimed.held_by_others
        if claimed.lost and not jump:
            self.alert = f"lost the claim on {', '.join(claimed.lost)} (another window has it)"
        if folder != self.folder:      # left this folder meanwhile
            if claimed.items:
                out.append(Post(bk.Release(directory=folder,
                                           files=[i.file for i in claimed.items])))
            return out + self.ensure_claims()
        if jump:
            if not claimed.items:
                self.alert = ("That image is done, or open in another window: "
                              + ", ".join(claimed.lost))
                return out
            out += self._drop_claims()
            self.waiting.appendleft(Batch.of(list(claimed.items), next(self.serials)))
            self.exhausted = False
            self.alert = f"Went to {claimed.items[0].file}."
            return out + self._advance()
        if not claimed.items:
            self.exhausted = True
            if self.shown is None and not self.waiting:
                out += self._folder_finished()
            return out
        self.waiting.append(Batch.of(list(claimed.items), next(self.serials)))
        if self.shown is None:
            return out + self._advance()
        return out + self.ensure_claims() + self.pump_decodes()

    def pump_decodes(self) -> list[Out]:
        """The batch on screen decodes first, alone; the batches waiting, once it is shown."""
        out: list[Out] = []
        if self.shown is not None and not self.shown.decoding:
            self.shown.decoding = True
            out.append(Decode(self.shown))
        if self.shown is not None and not self.shown.ready():
            return out
        for batch in self.waiting:
            if not batch.decoding:
                batch.decoding = True
                out.append(Decode(batch))
        return out

    def decoded(self, slot: Slot, preview: Preview) -> list[Out]:
        slot.start(preview, self.aspect)
        if preview.suggestion.note:
            self.alert = preview.suggestion.note
        out: list[Out] = []
        for batch in self.waiting:
            if not batch.logged_ready and batch.ready():
                batch.logged_ready = True
                out.append(Log("batch_ready", {"serial": batch.serial}))
        if self.shown is not None and self.shown.ready() and slot in self.shown.slots:
            out += self.pump_decodes()
        return out

    def _advance(self) -> list[Out]:
        """Show the next claimed batch, and claim the one after it."""
        self.shown = self.waiting.popleft() if self.waiting else None
        self.warned = None
        self.active = 0
        out: list[Out] = []
        folder = self.folder
        if self.shown is not None and folder is not None and folder not in self.first_shown:
            self.first_shown.add(folder)
            self._true_start_line(folder, self.shown)
        if self.shown is None and self.exhausted:
            out += self._folder_finished()
        return out + self.ensure_claims() + self.pump_decodes()

    def _true_start_line(self, folder: str, batch: Batch) -> None:
        """Seen: a second window said "Resuming at image 1/9" while it showed image 7. The
        line names the image this window shows."""
        summary = self.summaries.get(folder)
        position = batch.slots[0].item.position if batch.slots else 0
        if summary is None or position <= 0:
            return
        for index, line in enumerate(self.messages):
            if line.startswith("🚀 "):
                verb = "Beginning" if "Beginning" in line else "Resuming"
                self.messages[index] = f"🚀 {verb} at image {position}/{summary.total_images}..."

    def _folder_finished(self) -> list[Out]:
        if self.auto_advance and self.folder_index + 1 < len(self.folders):
            return self._move_folder(+1, auto=True)
        return self._show_done()

    def _show_done(self) -> list[Out]:
        folder = self.folder
        elsewhere = self.held_by_others.get(folder, 0) if folder else 0
        out: list[Out] = []
        if elsewhere > 0:
            if not self.retry_scheduled:
                self.retry_scheduled = True
                out.append(Later(RETRY_CLAIM_MS, "retry"))
            self.done_text = (f"Nothing left for this window in {display.label(folder or '')}:\n"
                              f"{elsewhere} image(s) are open in other windows.")
            return out
        self.finished = True
        self.done_text = self._finished_text()
        return out

    def _finished_text(self) -> str:
        """The all-done screen, from the newest summary (saves may still be reporting)."""
        folder = self.folder
        summary = self.summaries.get(folder) if folder else None
        last = folder is None or self.folder_index + 1 >= len(self.folders)
        lines = ["All images processed!" if last else
                 f"All images in {display.label(folder or '')} are done."]
        if summary is not None:
            lines.append(f"{display.label(summary.directory)}: {summary.completed_count} of "
                         f"{summary.total_images} images done"
                         + (f", saving {self.saving}…" if self.saving else "."))
            lines.append(f"This session: {summary.session_images} images, "
                         f"{display.format_duration(summary.session_work_seconds)} work time.")
        lines.append("Press q to quit (b takes the last batch back)." if last
                     else "Press n for the next folder.")
        return "\n".join(lines)

    def retry(self) -> list[Out]:
        self.retry_scheduled = False
        if self.shown is None and not self.waiting and not self.closing:
            self.exhausted = False
            self.finished = False
            self.done_text = ""
            return self.ensure_claims()
        return []

    # --- actions -----------------------------------------------------------------------------

    def act(self, action: str, column: int | None = None, shift: bool = False) -> list[Out]:
        """Every key and button lands here."""
        if self.closing:
            return []
        if self.help and action != "help":   # any key or button first closes the keys
            self.help = False
            return []
        handler = getattr(self, f"_do_{action}")
        if column is not None:
            return handler(column)  # type: ignore[no-any-return]
        if action == "nudge":
            raise TypeError("nudge takes a direction")
        return handler()  # type: ignore[no-any-return]

    def _slot(self, column: int) -> Slot | None:
        if self.shown is None or column >= self.columns:
            return None
        slot = self.shown.slot(column)
        return slot if slot is not None and slot.preview is not None else None

    def _do_delete(self, column: int) -> list[Out]:
        return self._mark(column, "delete")

    def _do_skip(self, column: int) -> list[Out]:
        return self._mark(column, "skip")

    def _mark(self, column: int, mark: Any) -> list[Out]:
        slot = self._slot(column)
        if slot is not None:
            slot.toggle(mark)
            self.edited(column)
        return []

    def _do_reset(self, column: int) -> list[Out]:
        slot = self._slot(column)
        if slot is not None and slot.full_size:
            slot.reset()
            self.edited(column)
        return []

    def _do_lock(self) -> list[Out]:
        self.aspect.locked = not self.aspect.locked
        return self._reaspect()

    def _do_aspect(self) -> list[Out]:
        self.aspect.aspect = self.aspect.aspect.next_preset()
        self.aspect.locked = True
        return self._reaspect()

    def _reaspect(self) -> list[Out]:
        for batch in ([self.shown] if self.shown else []) + list(self.waiting):
            for slot in batch.slots:
                slot.reaspect(self.aspect)
        return []

    def _do_help(self) -> list[Out]:
        self.help = not self.help
        return []

    def _do_submit(self, keep_all: bool = False) -> list[Out]:
        batch = self.shown
        folder = self.folder
        if batch is None or folder is None:
            return []
        if not batch.ready():
            self.alert = "Still loading: submit when the images are shown."
            return []
        actions = batch.actions(keep_all, self.aspect)
        for index, (_item, action, box) in enumerate(actions):
            if action == "crop" and box is not None and (
                    box[2] - box[0] < MIN_CROP or box[3] - box[1] < MIN_CROP):
                self.alert = (f"Image {index + 1}: a crop of {box[2] - box[0]} × "
                              f"{box[3] - box[1]} is too small (at least {MIN_CROP} px a side); "
                              "draw it again or reset it.")
                return []
        entries = [bk.Entry(item, action, box) for item, action, box in actions]
        out: list[Out] = [Log("submit", {"serial": batch.serial, "keep_all": keep_all}),
                          Post(bk.Submit(folder, uuid.uuid4().hex, entries))]
        self.saving += len(entries)
        self.history.append(batch)
        del self.history[:-HISTORY]
        self.alert = ""
        return out + self._advance()

    def _do_keep_all(self) -> list[Out]:
        return self._do_submit(keep_all=True)

    def _do_undo(self) -> list[Out]:
        folder = self.folder
        if folder is None or folder not in self.opened:
            return []
        self.alert = "Undoing the last batch…"
        return [Post(bk.Undo(directory=folder))]

    def _undone(self, folder: str, undone: Undone, problems: list[str]) -> list[Out]:
        self.summaries[folder] = undone.summary
        if not undone.items:
            self.alert = "Nothing to undo in this folder."
            return []
        batch = batch_from_undone(folder, undone.items, self.history, self.aspect,
                                  next(self.serials))
        self.history = [b for b in self.history if not set(batch.files) & set(b.files)]
        if folder != self.folder:
            return [Post(bk.Release(directory=folder, files=batch.files))]
        if self.shown is not None:
            self.waiting.appendleft(self.shown)
        self.shown = batch
        self.exhausted = False
        self.finished = False
        self.done_text = ""
        self.alert = (f"Undone: {', '.join(batch.files)} shown again." if not problems
                      else "Undone, with problems: " + "; ".join(problems))
        return self.pump_decodes()

    def _do_next_dir(self) -> list[Out]:
        return self._switch_folder(+1)

    def _do_prev_dir(self) -> list[Out]:
        return self._switch_folder(-1)

    def _switch_folder(self, step: int) -> list[Out]:
        if len(self.folders) < 2:
            self.alert = "Only one folder: n and p move between folders when there are several."
            return []
        action = "next_dir" if step > 0 else "prev_dir"
        if self._needs_warning(action):
            return []
        return self._move_folder(step)

    def _needs_warning(self, action: str) -> bool:
        """With unsubmitted changes, the first press of quit (or a folder change) only warns."""
        if self.shown is None or not self.shown.changed() or self.warned == action:
            return False
        self.warned = action
        verb = {"quit": "quit", "next_dir": "leave this folder",
                "prev_dir": "leave this folder"}[action]
        self.alert = (f"Unsubmitted changes! Press Enter to submit them, or press the key again "
                      f"to {verb} without them.")
        return True

    def _do_quit(self) -> list[Out]:
        if self._needs_warning("quit"):
            return []
        self.closing = True
        self._closing_text()
        return [Log("quit"), Post(bk.Close()), Later(CLOSE_TIMEOUT_MS, "close_timeout")]

    def _closing_text(self) -> None:
        if self.closing:
            self.alert = (f"Saving {self.saving} image(s), then releasing claims…"
                          if self.saving else "Releasing claims…")

    def _fail(self, code: int, message: str) -> list[Out]:
        self.closing = True
        return [Fail(code, message), Post(bk.Close()), Finish()]

    def caption(self, slot: Slot, box: Box | None = None) -> str:
        """What the column says under the image (live while dragging, with `box`)."""
        return caption(slot, self.aspect, self.shape, box)

    # --- results of submit ---------------------------------------------------------------------

    def _submitted(self, command: bk.Submit, result: bk.SubmitResult,
                   problems: list[str]) -> list[Out]:
        self.saving = max(0, self.saving - len(command.entries)
                          + self.saved.pop(command.batch, 0))
        if result.summary is not None:
            self.summaries[command.directory] = result.summary
        if problems:
            self.alert = "Not saved (offered again next time): " + "; ".join(problems)
        self._closing_text()
        return [Log("submitted", {"outcomes": result.outcomes})]

    # --- status --------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.messages.append(text)
        del self.messages[:-STATUS_LINES]

    def phase(self) -> str:
        if self.closing:
            return "closing"
        if self.shown is not None:
            return "batch" if self.shown.ready() else "loading"
        if self.done_text:
            return "done"
        return "loading"

    def progress_lines(self) -> list[str]:
        folder = self.folder
        summary = self.summaries.get(folder) if folder else None
        if summary is None:
            if self.discovered and not self.folders:
                return ["No images found."]
            return ["Connecting to the crop daemon…"]
        files = self.shown.files if self.shown else []
        current = (files[0] + (f" (+{len(files) - 1} more)" if len(files) > 1 else "")) \
            if files else None
        lines = display.progress_lines(summary.directory, summary.completed_count,
                                       summary.total_images, current, summary.session_images,
                                       summary.session_work_seconds, summary.eta_seconds)
        if self.saving:
            lines.append(f"saving {self.saving}…")
        return lines

    def heading(self) -> tuple[str, str]:
        """(heading, window title)."""
        folder = self.folder
        if folder is None:
            if self.discovered:
                return ("Nothing to crop", "multicrop — nothing to crop")
            return ("multicrop: starting…", "multicrop")
        where = display.label(folder)
        if len(self.folders) > 1:
            where += f"   (folder {self.folder_index + 1} of {len(self.folders)})"
        return (where, f"multicrop — {display.label(folder)}")

    def view(self) -> View:
        if self.finished and self.shown is None and self.done_text:
            self.done_text = self._finished_text()
        phase = self.phase()
        batch = self.shown
        message = self.done_text or ("Loading…" if not self.closing else "")
        columns = []
        for column in range(self.columns):
            slot = batch.slot(column) if batch is not None else None
            text = "Loading…" if slot is not None else (
                message if column == (self.columns - 1) // 2 and batch is None else "")
            suggestion = slot.computed(self.aspect) if slot is not None and self.suggest \
                and slot.mark is None else None
            columns.append(ColumnView(slot, text, self.caption(slot) if slot else "",
                                      suggestion, column == self.active and batch is not None))
        working = phase == "batch"
        heading, title = self.heading()
        return View(
            phase=phase, title=title, heading=heading, aspect=f"Aspect: {self.aspect.describe()}",
            lock_text="Unlock aspect  [Space]" if self.aspect.locked else "Lock aspect  [Space]",
            lock_enabled=self.aspect.aspect.name != "free" and phase != "done",
            progress=self.progress_lines(), messages=list(self.messages), alert=self.alert,
            done_text=self.done_text, saving=self.saving,
            enabled={"submit": working, "keep_all": working, "aspect": phase != "done",
                     "lock": self.aspect.aspect.name != "free" and phase != "done",
                     "undo": self.folder in self.opened if self.folder else False,
                     "prev_dir": len(self.folders) > 1, "next_dir": len(self.folders) > 1,
                     "help": True, "quit": True, "jump": working},
            columns=columns, help=self.help, jump=self.jump)

def _text(path: Any) -> str | None:
    return str(path) if path is not None else None


__all__ = ["EDGES", "ColumnView", "Flow", "Out", "View", "box_text", "screen_text"]
