"""The crop window: widgets, keys and the flow of batches through one Tk loop.

It owns what the person sees and does: the columns (panel.py), the toolbar,
the status bar, the keys (keys.py). Everything slow happens elsewhere: the
daemon and the file work in the backend thread (backend.py), decoding in the
prefetcher (preview.py). The loop polls both with `after`. One batch is
claimed ahead of the one on screen and decoded while the person works, so
submit shows the next batch at once.
"""

from __future__ import annotations

import functools
import itertools
import queue
import sys
import time
import tkinter as tk
import tkinter.font as tkfont
import uuid
from collections import deque
from concurrent.futures import Future
from typing import Any

from crop_client.multicrop.gui import backend as bk
from crop_client.multicrop.gui.batch import AspectState, Batch, Slot, batch_from_undone
from crop_client.multicrop.gui.instrument import Instrument
from crop_client.multicrop.gui.keys import COLUMN_KEYS, KEYS, Key, help_text
from crop_client.multicrop.gui.panel import ImagePanel
from crop_client.multicrop.gui.preview import Prefetcher, Preview
from crop_client.multicrop.options import Options
from crop_progress import display
from crop_protocol.messages import Claimed, Opened, Summary, Undone

POLL_MS = 15
RETRY_CLAIM_MS = 4000        # when other windows hold the rest, look again this often
CLOSE_TIMEOUT_MS = 60000     # give up waiting for the backend when quitting
STATUS_LINES = 5             # the status bar keeps its height: the buttons never jump
HISTORY = 20                 # submitted batches kept (with their pictures) for undo
BAR_BG = "#333333"
TEXT_FG = "#eeeeee"
ALERT_FG = "#ffb74d"


class CropWindow:
    def __init__(self, root: tk.Tk, options: Options, backend: bk.Backend,
                 instrument: Instrument) -> None:
        self.root, self.options, self.backend, self.instrument = root, options, backend, instrument
        self.columns = max(1, min(3, options.per_batch))
        self.aspect = AspectState(options.aspect)
        self.prefetcher = Prefetcher()
        self.exit_code = 0

        self.folders: list[str] = []
        self.folder_index = -1
        self.opened: dict[str, Opened] = {}
        self.summaries: dict[str, Summary] = {}
        self.held_elsewhere: dict[str, int] = {}  # claims of other windows, at the last claim
        self.in_flight = 0                        # submitted images not yet reported
        self.auto_advance = True
        self.waiting: deque[Batch] = deque()     # claimed ahead, decoding or decoded
        self.shown: Batch | None = None
        self.history: list[Batch] = []           # submitted, newest last
        self.pending: list[tuple[Slot, Future[Preview]]] = []
        self.claim_pending = False
        self.exhausted = False                   # the daemon had nothing more for us here
        self.warned: str | None = None           # the action whose first press warned
        self.closing = False
        self.destroyed = False
        self.shown_once = False
        self.last_poll = 0.0
        self.longest_stall = 0.0
        self.shown_logged = False
        self.serials = itertools.count(1)
        self.messages: list[str] = []
        self.alert = ""
        self.done_text = ""
        self.help_window: tk.Frame | None = None
        self._retry_job: str | None = None
        self._state_job: str | None = None

        self._x11 = root.tk.call("tk", "windowingsystem") == "x11"
        self.fixed_font = tkfont.nametofont("TkFixedFont").copy()
        self.fixed_font.configure(size=10)
        self.help_font = tkfont.nametofont("TkFixedFont").copy()
        self.help_font.configure(size=12)
        self._build()
        self._bind_keys()

    # --- widgets ------------------------------------------------------------------

    def _build(self) -> None:
        root = self.root
        root.title("multicrop")
        root.configure(bg="#1c1c1c")
        if self.instrument.geometry:
            root.geometry(self.instrument.geometry)
        else:   # the origin tool: 90% of the screen wide, 88% tall, at the top left
            width = int(root.winfo_screenwidth() * 0.9)
            height = int(root.winfo_screenheight() * 0.88)
            root.geometry(f"{width}x{height}+0+0")
        root.protocol("WM_DELETE_WINDOW", lambda: self.act("quit"))

        header = tk.Frame(root, bg=BAR_BG)
        header.pack(side="top", fill="x")
        self.heading = tk.Label(header, bg=BAR_BG, fg="white", anchor="w", padx=8, pady=4,
                                font=("TkDefaultFont", 13, "bold"), text="multicrop: starting…")
        self.heading.pack(side="left", fill="x", expand=True)
        self.aspect_label = tk.Label(header, bg=BAR_BG, fg="#ffd400", padx=8,
                                     font=("TkDefaultFont", 12, "bold"))
        self.aspect_label.pack(side="right")

        status = tk.Frame(root, bg=BAR_BG, padx=8, pady=4)
        status.pack(side="bottom", fill="x")
        self.progress_label = tk.Label(status, bg=BAR_BG, fg=TEXT_FG, justify="left",
                                       anchor="nw", font=self.fixed_font, height=STATUS_LINES)
        self.progress_label.pack(side="left", anchor="nw")
        self.message_label = tk.Label(status, bg=BAR_BG, fg="#cfd8dc", justify="left",
                                      anchor="nw", font=self.fixed_font, height=STATUS_LINES)
        self.message_label.pack(side="left", anchor="nw", padx=(24, 0), fill="x", expand=True)
        self.alert_label = tk.Label(root, bg="#1c1c1c", fg=ALERT_FG, anchor="w", padx=8,
                                    font=("TkDefaultFont", 11, "bold"))
        self.alert_label.pack(side="bottom", fill="x")

        toolbar = tk.Frame(root, bg="#1c1c1c", pady=4)
        toolbar.pack(side="bottom", fill="x")
        self.buttons: dict[str, tk.Button] = {}
        for action, text in (("submit", "Submit  [Enter]"), ("keep_all", "Keep all  [k]"),
                             ("undo", "Undo  [b]"), ("aspect", "Next aspect  [a]"),
                             ("lock", "Lock aspect  [Space]"), ("prev_dir", "◀ Folder  [p]"),
                             ("next_dir", "Folder ▶  [n]"), ("help", "Keys  [?]"),
                             ("quit", "Quit  [q]")):
            button = tk.Button(toolbar, text=text, takefocus=False,
                               command=functools.partial(self.act, action))
            button.pack(side="left", padx=3)
            self.buttons[action] = button
        self.buttons["submit"].configure(font=("TkDefaultFont", 10, "bold"))

        columns = tk.Frame(root, bg="#1c1c1c")
        columns.pack(side="top", fill="both", expand=True)
        self.panels: list[ImagePanel] = []
        for column in range(self.columns):
            panel = ImagePanel(columns, column, COLUMN_KEYS[column], self._edited,
                               lambda action, col: self.act(action, col))
            panel.frame.grid(row=0, column=column, sticky="nsew")
            columns.grid_columnconfigure(column, weight=1, uniform="col")
            self.panels.append(panel)
        columns.grid_rowconfigure(0, weight=1)
        self._update_aspect_label()

    def _bind_keys(self) -> None:
        if self.instrument.wants_state:   # tests wait for the keyboard focus before typing
            self.root.bind("<FocusIn>", lambda _e: self._write_state(), add="+")
            self.root.bind("<FocusOut>", lambda _e: self._write_state(), add="+")
        for key in KEYS:
            for sequence in key.sequences:
                self.root.bind(sequence, functools.partial(self._key_event, key))

    def _key(self, action: str, column: int | None) -> str:
        self.act(action, column)
        return "break"

    def _key_event(self, key: Key, _event: object) -> str:
        return self._key(key.action, key.column)

    # --- start --------------------------------------------------------------------

    def start(self) -> None:
        self.root.update()          # lay out, so the columns' sizes are known for decoding
        self.root.focus_force()
        self.instrument.event("window")
        self.backend.post(bk.Discover([str(d) for d in self.options.directories]))
        self.root.after(POLL_MS, self._poll)

    # --- the loop -----------------------------------------------------------------

    def _poll(self) -> None:
        now = time.monotonic()
        if self.shown_once:   # how long the loop went without a turn: a frozen window shows here
            self.longest_stall = max(self.longest_stall, now - self.last_poll)
        self.last_poll = now
        try:
            while True:
                try:
                    event = self.backend.events.get_nowait()
                except queue.Empty:
                    break
                self._handle(event)
            self._collect_previews()
            self._pump_decodes()
        finally:
            if not self.destroyed:
                self.root.after(POLL_MS, self._poll)

    def _handle(self, event: bk.Event) -> None:
        if isinstance(event, bk.Fatal):
            self._fail(event.code, event.message)
        elif isinstance(event, bk.Notice):
            self._say(event.text)
        elif isinstance(event.command, bk.Close):
            self._finish_close()
        elif event.error is not None:
            self._command_failed(event)
        else:
            self._command_done(event)

    def _command_done(self, event: bk.Done) -> None:
        command, result = event.command, event.result
        if isinstance(command, bk.Discover):
            self._discovered(result)
        elif isinstance(command, bk.Open):
            if result is None:             # left alone (--no-resume)
                self._warn(" ".join(event.problems))
                if command.directory == self.folder:
                    self._move_folder(+1, auto=True)
                return
            self._opened(command.directory, result)
        elif isinstance(command, bk.Claim):
            self._claimed(command.directory, result)
        elif isinstance(command, bk.Submit):
            self._submitted(command, result, event.problems)
        elif isinstance(command, bk.Undo):
            self._undone(command.directory, result, event.problems)

    def _command_failed(self, event: bk.Done) -> None:
        command = event.command
        if isinstance(command, bk.Open):
            if not self.opened and self.shown is None and not self.waiting:
                self._fail(1, f"cannot open {command.directory}: {event.error}")
                return
            self._warn(f"cannot open {display.label(command.directory)}: {event.error}")
            self._move_folder(+1, auto=True)
            return
        if isinstance(command, bk.Claim):   # the daemon may be restarting: ask again soon
            self.claim_pending = False
            self.root.after(RETRY_CLAIM_MS // 2, self._ensure_claims)
        if isinstance(command, bk.Submit):
            self.in_flight = max(0, self.in_flight - len(command.entries))
        self._warn(f"{type(command).__name__.lower()}: {event.error}")

    # --- folders --------------------------------------------------------------------

    @property
    def folder(self) -> str | None:
        return self.folders[self.folder_index] if 0 <= self.folder_index < len(self.folders) \
            else None

    def _discovered(self, folders: list[str]) -> None:
        self.folders = list(folders)
        if not self.folders:
            self._show_done("No images found in " + ", ".join(
                str(d) for d in self.options.directories))
            return
        self._enter_folder(0)

    def _enter_folder(self, index: int) -> None:
        self.folder_index = index
        self.exhausted = False
        self.done_text = ""
        folder = self.folders[index]
        self._update_heading()
        if folder in self.opened:
            self._say_lines(display.start_lines(self.opened[folder].summary))
            self._ensure_claims()
            self._render()
            return
        options = self.options
        self.backend.post(bk.Open(
            folder, output_dir=_text(options.output_dir), progress_dir=_text(options.progress_dir),
            reset=options.reset_progress, retry_skipped=options.retry_skipped,
            retry_failed=options.retry_failed, move=options.move,
            leave_started=not options.resume))
        self._render()

    def _opened(self, folder: str, opened: Opened) -> None:
        self.opened[folder] = opened
        self.summaries[folder] = opened.summary
        lines = display.start_lines(opened.summary)
        for line in lines:
            print(line, flush=True)
        for message in opened.messages:
            print(message, flush=True)
        self.messages = []
        self._say_lines(lines + list(opened.messages))
        if folder == self.folder:
            self._ensure_claims()
            self._render()

    def _move_folder(self, step: int, auto: bool = False) -> None:
        index = self.folder_index + step
        if not 0 <= index < len(self.folders):
            if auto:
                self._show_done(self._finished_text())
            else:
                self._warn("This is the last folder." if step > 0 else "This is the first folder.")
            return
        self._drop_claims()
        self.auto_advance = step > 0
        self._enter_folder(index)

    def _drop_claims(self) -> None:
        """Give back what this window holds in the current folder (not submitted)."""
        folder = self.folder
        files = [f for batch in ([self.shown] if self.shown else []) + list(self.waiting)
                 for f in batch.files]
        for _slot, future in self.pending:
            future.cancel()
        self.pending.clear()
        self.waiting.clear()
        self.shown = None
        self.shown_logged = False
        if folder and files:
            self.backend.post(bk.Release(folder, files))

    # --- claims and previews --------------------------------------------------------

    def _ensure_claims(self) -> None:
        folder = self.folder
        if (folder is None or folder not in self.opened or self.claim_pending
                or self.exhausted or self.closing):
            return
        if self.shown is None or len(self.waiting) < 1:
            self.claim_pending = True
            self.backend.post(bk.Claim(folder, self.columns))

    def _claimed(self, folder: str, claimed: Claimed) -> None:
        self.claim_pending = False
        self.instrument.event("claimed", files=[i.file for i in claimed.items])
        self.summaries[folder] = claimed.summary
        # Commands run in order, so when this claim ran every earlier submit was done and
        # every later one still held its images: what this window held then is known.
        held_here = len(claimed.items) + self.in_flight + (
            sum(len(b.files) for b in ([self.shown] if self.shown else []) + list(self.waiting))
            if folder == self.folder else 0)
        self.held_elsewhere[folder] = max(0, claimed.summary.active_claims - held_here)
        if claimed.lost:
            self._warn(f"lost the claim on {', '.join(claimed.lost)} (another window has it)")
        if folder != self.folder:      # left this folder meanwhile
            if claimed.items:
                self.backend.post(bk.Release(folder, [i.file for i in claimed.items]))
            self._ensure_claims()
            return
        if not claimed.items:
            self.exhausted = True
            if self.shown is None and not self.waiting:
                self._folder_finished()
            self._render()
            return
        self.waiting.append(Batch.of(list(claimed.items), next(self.serials)))
        if self.shown is None:
            self._advance()
        else:
            self._ensure_claims()
            self._pump_decodes()
        self._render_status()

    def _decode(self, batch: Batch) -> None:
        batch.decoding = True
        for index, slot in enumerate(batch.slots):
            if slot.preview is None:
                panel = self.panels[min(index, len(self.panels) - 1)]
                self.pending.append((slot, self.prefetcher.fetch(slot.item, panel.canvas_size())))

    def _pump_decodes(self) -> None:
        """The batch on screen decodes first, alone; the batches waiting, once it is shown."""
        if self.shown is not None and not self.shown.decoding:
            self._decode(self.shown)
        if self.shown is not None and not self.shown.ready():
            return
        for batch in self.waiting:
            if not batch.decoding:
                self._decode(batch)

    def _collect_previews(self) -> None:
        if not self.pending:
            return
        still: list[tuple[Slot, Future[Preview]]] = []
        changed = False
        for slot, future in self.pending:
            if not future.done():
                still.append((slot, future))
                continue
            if future.cancelled():
                continue
            preview = future.result()
            slot.start(preview, self.aspect)
            if preview.suggestion.note:
                self._warn(preview.suggestion.note)
            if self.shown is not None and slot in self.shown.slots:
                changed = True
        self.pending = still
        for batch in self.waiting:
            if not batch.logged_ready and batch.ready():
                batch.logged_ready = True
                self.instrument.event("batch_ready", serial=batch.serial)
        if changed:
            self._render()

    def _advance(self) -> None:
        """Show the next claimed batch, and claim the one after it."""
        self.shown = self.waiting.popleft() if self.waiting else None
        self.shown_logged = False
        self.warned = None
        if self.shown is None and self.exhausted:
            self._folder_finished()
        self._ensure_claims()
        self._pump_decodes()
        self._render()

    def _folder_finished(self) -> None:
        if self.auto_advance and self.folder_index + 1 < len(self.folders):
            self._move_folder(+1, auto=True)
            return
        self._show_done(self._finished_text())

    def _finished_text(self) -> str:
        folder = self.folder
        elsewhere = self.held_elsewhere.get(folder, 0) if folder else 0
        if elsewhere > 0:
            self._schedule_retry()
            return (f"Nothing left for this window in {display.label(folder or '')}:\n"
                    f"{elsewhere} image(s) are open in other windows.")
        if folder is not None and self.folder_index + 1 < len(self.folders):
            return f"All images in {display.label(folder)} are done.\nPress n for the next folder."
        return "All images processed!\nPress q to quit."

    def _show_done(self, text: str) -> None:
        self.done_text = text
        self._render()

    def _schedule_retry(self) -> None:
        if self._retry_job is None:
            self._retry_job = self.root.after(RETRY_CLAIM_MS, self._retry_claim)

    def _retry_claim(self) -> None:
        self._retry_job = None
        if self.shown is None and not self.waiting and not self.closing:
            self.exhausted = False
            self.done_text = ""
            self._ensure_claims()

    # --- actions ------------------------------------------------------------------

    def act(self, action: str, column: int | None = None) -> None:
        """Every key and button lands here."""
        if self.closing:
            return
        if self.help_window is not None:   # any key or button first closes the keys
            self._close_help()
            return
        handler = getattr(self, f"_do_{action}")
        if column is not None:
            handler(column)
        else:
            handler()

    def _slot(self, column: int) -> Slot | None:
        if self.shown is None or column >= self.columns:
            return None
        slot = self.shown.slot(column)
        return slot if slot is not None and slot.preview is not None else None

    def _do_delete(self, column: int) -> None:
        self._mark(column, "delete")

    def _do_skip(self, column: int) -> None:
        self._mark(column, "skip")

    def _mark(self, column: int, mark: Any) -> None:
        slot = self._slot(column)
        if slot is not None:
            slot.toggle(mark)
            self._edited(column)

    def _do_reset(self, column: int) -> None:
        slot = self._slot(column)
        if slot is not None and slot.full_size:
            slot.reset()
            self._edited(column)

    def _do_lock(self) -> None:
        self.aspect.locked = not self.aspect.locked
        self._reaspect()

    def _do_aspect(self) -> None:
        self.aspect.aspect = self.aspect.aspect.next_preset()
        self.aspect.locked = True
        self._reaspect()

    def _reaspect(self) -> None:
        for batch in ([self.shown] if self.shown else []) + list(self.waiting):
            for slot in batch.slots:
                slot.reaspect(self.aspect)
        self._update_aspect_label()
        self._render()

    def _do_submit(self, keep_all: bool = False) -> None:
        batch = self.shown
        folder = self.folder
        if batch is None or folder is None:
            return
        if not batch.ready():
            self._warn("Still loading: submit when the images are shown.")
            return
        self.instrument.event("submit", serial=batch.serial, keep_all=keep_all)
        entries = [bk.Entry(item, action, box) for item, action, box in batch.actions(keep_all)]
        self.backend.post(bk.Submit(folder, uuid.uuid4().hex, entries))
        self.in_flight += len(entries)
        self.history.append(batch)
        del self.history[:-HISTORY]
        self.alert = ""
        self._advance()

    def _do_keep_all(self) -> None:
        self._do_submit(keep_all=True)

    def _do_undo(self) -> None:
        folder = self.folder
        if folder is None or folder not in self.opened:
            return
        self.backend.post(bk.Undo(folder))
        self._warn("Undoing the last batch…")

    def _undone(self, folder: str, undone: Undone, problems: list[str]) -> None:
        self.summaries[folder] = undone.summary
        if not undone.items:
            self._warn("Nothing to undo.")
            return
        batch = batch_from_undone(folder, undone.items, self.history, self.aspect,
                                  next(self.serials))
        self.history = [b for b in self.history if not set(batch.files) & set(b.files)]
        if folder != self.folder:
            self.backend.post(bk.Release(folder, batch.files))
            return
        if self.shown is not None:
            self.waiting.appendleft(self.shown)
        self.shown = batch
        self.shown_logged = False
        self.exhausted = False
        self.done_text = ""
        self.alert = ""
        self._pump_decodes()
        self._warn(f"Undone: {', '.join(batch.files)} shown again." if not problems
                   else "Undone, with problems: " + "; ".join(problems))
        self._render()

    def _do_next_dir(self) -> None:
        self._switch_folder(+1)

    def _do_prev_dir(self) -> None:
        self._switch_folder(-1)

    def _switch_folder(self, step: int) -> None:
        if len(self.folders) < 2:
            self._warn("Only one folder: n and p move between folders when there are several.")
            return
        action = "next_dir" if step > 0 else "prev_dir"
        if self._needs_warning(action):
            return
        self._move_folder(step)

    def _needs_warning(self, action: str) -> bool:
        """With unsubmitted changes, the first press of quit (or a folder change) only warns."""
        if self.shown is None or not self.shown.changed() or self.warned == action:
            return False
        self.warned = action
        verb = {"quit": "quit", "next_dir": "leave this folder",
                "prev_dir": "leave this folder"}[action]
        self._warn(f"Unsubmitted changes! Press Enter to submit them, or press the key again "
                   f"to {verb} without them.")
        return True

    def _do_quit(self) -> None:
        if self._needs_warning("quit"):
            return
        self.closing = True
        self.instrument.event("quit")
        self._warn("Saving and releasing claims…")
        self._render()
        self.backend.post(bk.Close())
        self.root.after(CLOSE_TIMEOUT_MS, self._finish_close)

    def _finish_close(self) -> None:
        self.prefetcher.shutdown()
        if not self.destroyed:
            self.destroyed = True
            self.instrument.event("closed", longest_stall_s=self.longest_stall)
            self.root.destroy()

    def _fail(self, code: int, message: str) -> None:
        print(f"multicrop: {message}", file=sys.stderr, flush=True)
        self.exit_code = code
        self.closing = True
        self.backend.post(bk.Close())
        self._finish_close()

    def _do_help(self) -> None:
        """`?`: the keys, over the images, until any key or button."""
        if self.help_window is not None:
            self._close_help()
            return
        panel = tk.Frame(self.root, bg=BAR_BG, padx=20, pady=14, highlightthickness=2,
                         highlightbackground="#ffd400")
        tk.Label(panel, text="Keys", bg=BAR_BG, fg="#ffd400",
                 font=("TkDefaultFont", 13, "bold")).pack(anchor="w")
        tk.Label(panel, text=help_text(), justify="left", font=self.help_font,
                 bg=BAR_BG, fg="white").pack()
        tk.Button(panel, text="Close", takefocus=False,
                  command=self._close_help).pack(pady=(10, 0))
        panel.place(relx=0.5, rely=0.45, anchor="center")
        self.help_window = panel
        self._write_state()

    def _close_help(self) -> None:
        if self.help_window is not None:
            self.help_window.destroy()
            self.help_window = None
            self._write_state()

    def _edited(self, column: int) -> None:
        self.warned = None
        self.panels[column].redraw()
        self._write_state()

    # --- results of submit ------------------------------------------------------------

    def _submitted(self, command: bk.Submit, result: bk.SubmitResult,
                   problems: list[str]) -> None:
        self.in_flight = max(0, self.in_flight - len(command.entries))
        self.instrument.event("submitted", outcomes=result.outcomes)
        if result.summary is not None:
            self.summaries[command.directory] = result.summary
        if problems:
            self._warn("Not saved (offered again next time): " + "; ".join(problems))
        self._render_status()

    # --- status -------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.messages.append(text)
        del self.messages[:-STATUS_LINES]
        self._render_status()

    def _say_lines(self, lines: list[str]) -> None:
        self.messages = list(lines)[-STATUS_LINES:]
        self._render_status()

    def _warn(self, text: str) -> None:
        self.alert = text
        self._render_status()

    def _update_heading(self) -> None:
        folder = self.folder
        if folder is None:
            return
        where = display.label(folder)
        if len(self.folders) > 1:
            where += f"   (folder {self.folder_index + 1} of {len(self.folders)})"
        self.heading.config(text=where)
        self.root.title(f"multicrop — {display.label(folder)}")

    def _update_aspect_label(self) -> None:
        self.aspect_label.config(text=f"Aspect: {self.aspect.describe()}")
        lock = self.buttons["lock"]
        lock.config(text=("Unlock aspect  [Space]" if self.aspect.locked
                          else "Lock aspect  [Space]"),
                    state="disabled" if self.aspect.aspect.name == "free" else "normal")

    def _progress_lines(self) -> list[str]:
        folder = self.folder
        summary = self.summaries.get(folder) if folder else None
        if summary is None:
            return ["Connecting to the crop daemon…"]
        files = self.shown.files if self.shown else []
        current = (files[0] + (f" (+{len(files) - 1} more)" if len(files) > 1 else "")) \
            if files else None
        return display.progress_lines(summary.directory, summary.completed_count,
                                      summary.total_images, current, summary.session_images,
                                      summary.session_work_seconds, summary.eta_seconds)

    def _render_status(self) -> None:
        shown = self._for_screen
        self.progress_label.config(text="\n".join(shown(line) for line in self._progress_lines()))
        self.message_label.config(text="\n".join(shown(line) for line in self.messages))
        self.alert_label.config(text=shown(self.alert))
        self._write_state()

    def _for_screen(self, text: str) -> str:
        """Tk 8.6 on X11 draws characters beyond the BMP (the seed's emoji) as empty boxes:
        leave them out on screen there; the terminal still prints them."""
        if not self._x11:
            return text
        return "".join(ch for ch in text if ord(ch) <= 0xFFFF).replace("  ", " ").lstrip()

    # --- drawing ------------------------------------------------------------------------

    def _phase(self) -> str:
        if self.closing:
            return "closing"
        if self.shown is not None:
            return "batch" if self.shown.ready() else "loading"
        if self.done_text:
            return "done"
        return "loading"

    def _render(self) -> None:
        batch = self.shown
        message = self.done_text or ("Loading…" if not self.closing else "")
        for column, panel in enumerate(self.panels):
            slot = batch.slot(column) if batch is not None else None
            text = "Loading…" if slot is not None else (
                message if column == (self.columns - 1) // 2 and batch is None else "")
            panel.show(slot, self.aspect, text)
        self._render_status()
        if batch is not None and batch.ready() and not self.shown_logged:
            self.shown_logged = True
            self.root.update_idletasks()
            self.instrument.event("batch_shown", serial=batch.serial, files=batch.files)
            self.shown_once = True
            self._write_state()

    def _has_focus(self) -> bool:
        return _focus_of(self.root)

    def _write_state(self) -> None:
        """Debug output (MULTICROP_DEBUG_STATE): written once the layout has settled."""
        if self.instrument.wants_state and self._state_job is None and not self.destroyed:
            self._state_job = self.root.after_idle(self._write_state_now)

    def _write_state_now(self) -> None:
        self._state_job = None
        if self.destroyed:
            return
        self.root.update_idletasks()
        self.instrument.state({
            "phase": self._phase(),
            "title": self.root.title(),
            "heading": self.heading.cget("text"),
            "folder": self.folder,
            "folders": self.folders,
            "serial": self.shown.serial if self.shown else None,
            "files": self.shown.files if self.shown else [],
            "waiting": [b.files for b in self.waiting],
            "columns": [panel.layout() for panel in self.panels],
            "aspect": self.aspect.describe(),
            "progress": self._progress_lines(),
            "messages": self.messages,
            "alert": self.alert,
            "done_text": self.done_text,
            "help": self.help_window is not None,
            "buttons": {name: _place(button) for name, button in self.buttons.items()}
            | {f"{action}_{panel.column}": _place(button) for panel in self.panels
               for action, button in panel.buttons.items()},
            "x_window": self.root.winfo_id(),
            "focus": self._has_focus(),
            "window": [self.root.winfo_rootx(), self.root.winfo_rooty(),
                       self.root.winfo_width(), self.root.winfo_height()],
        })


def _focus_of(root: tk.Tk) -> bool:
    try:
        return root.focus_get() is not None
    except (KeyError, tk.TclError):   # focus in a widget Tkinter did not make
        return False


def _place(widget: tk.Misc) -> list[int]:
    return [widget.winfo_rootx(), widget.winfo_rooty(), widget.winfo_width(),
            widget.winfo_height()]


def _text(path: Any) -> str | None:
    return str(path) if path is not None else None
