"""The crop window: widgets and key bindings over the Tk-free flow (flow.py).

It draws what `Flow.view()` says and carries out the commands the flow
returns: backend commands go to the backend thread (backend.py), decodes to
the prefetcher (preview.py), timers to `after`. Every key, button and mouse
gesture goes to the flow. The loop polls the backend and the decodes with
`after`. Text, handles and buttons scale with the screen (`ui_scale`).
"""

from __future__ import annotations

import functools
import queue
import sys
import time
import tkinter as tk
import tkinter.font as tkfont
from concurrent.futures import Future
from typing import Any, Literal

from PIL import Image

from crop_client import shaping
from crop_client.multicrop.gui import backend as bk
from crop_client.multicrop.gui import flow as fl
from crop_client.multicrop.gui.batch import Slot
from crop_client.multicrop.gui.geometry import Box
from crop_client.multicrop.gui.instrument import Instrument
from crop_client.multicrop.gui.keys import COLUMN_KEYS, KEYS, NUDGES, help_text
from crop_client.multicrop.gui.panel import ImagePanel
from crop_client.multicrop.gui.preview import Prefetcher, Preview
from crop_client.multicrop.options import Options

POLL_MS = 15
BAR_BG = "#333333"
TEXT_FG = "#eeeeee"
ALERT_FG = "#ffb74d"
BASE_SCREEN = (1920, 1080)       # the screen the sizes were chosen on, at 96 dpi


def ui_scale(screen_w: int, screen_h: int, dpi: float) -> float:
    """How much larger than on a 1920×1080 96-dpi screen text, handles and buttons are:
    the larger of the screen's size and its density, never below 1 nor above 3. (Xvfb and
    many monitors say 96 dpi whatever their size, so the size counts too.)"""
    by_size = min(screen_w / BASE_SCREEN[0], screen_h / BASE_SCREEN[1])
    return max(1.0, min(3.0, max(by_size, dpi / 96)))


class CropWindow:
    def __init__(self, root: tk.Tk, options: Options, backend: bk.Backend,
                 instrument: Instrument, shape: shaping.Shape | None = None,
                 suggest: bool = False) -> None:
        self.root, self.options, self.backend, self.instrument = root, options, backend, instrument
        self.flow = fl.Flow(options, options.per_batch, shape=shape, suggest=suggest)
        self.columns = self.flow.columns
        self.prefetcher = Prefetcher()
        self.exit_code = 0
        self.pending: list[tuple[Slot, Future[Preview]]] = []
        self.full: dict[int, Future[Image.Image | None]] = {}   # id(slot) -> loupe picture
        self.closing = False
        self.destroyed = False
        self.shown_once = False
        self.shown_serial: int | None = None
        self.last_poll = 0.0
        self.longest_stall = 0.0
        self.help_window: tk.Frame | None = None
        self.jump_frame: tk.Frame | None = None
        self._state_job: str | None = None

        self._x11 = root.tk.call("tk", "windowingsystem") == "x11"
        dpi = root.winfo_fpixels("1i")
        self.scale = ui_scale(root.winfo_screenwidth(), root.winfo_screenheight(), dpi)
        # Tk sizes fonts in points: scaling pixels-per-point scales every font at once
        root.tk.call("tk", "scaling", dpi / 72 * self.scale)
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
        pad = round(4 * self.scale)

        header = tk.Frame(root, bg=BAR_BG)
        header.pack(side="top", fill="x")
        self.heading = tk.Label(header, bg=BAR_BG, fg="white", anchor="w", padx=8, pady=pad,
                                font=("TkDefaultFont", 13, "bold"), text="multicrop: starting…")
        self.heading.pack(side="left", fill="x", expand=True)
        self.aspect_label = tk.Label(header, bg=BAR_BG, fg="#ffd400", padx=8,
                                     font=("TkDefaultFont", 12, "bold"))
        self.aspect_label.pack(side="right")

        status = tk.Frame(root, bg=BAR_BG, padx=8, pady=pad)
        status.pack(side="bottom", fill="x")
        self.progress_label = tk.Label(status, bg=BAR_BG, fg=TEXT_FG, justify="left",
                                       anchor="nw", font=self.fixed_font,
                                       height=fl.STATUS_LINES + 1)
        self.progress_label.pack(side="left", anchor="nw")
        self.message_label = tk.Label(status, bg=BAR_BG, fg="#cfd8dc", justify="left",
                                      anchor="nw", font=self.fixed_font,
                                      height=fl.STATUS_LINES + 1)
        self.message_label.pack(side="left", anchor="nw", padx=(24, 0), fill="x", expand=True)
        self.alert_label = tk.Label(root, bg="#1c1c1c", fg=ALERT_FG, anchor="w", padx=8,
                                    font=("TkDefaultFont", 11, "bold"))
        self.alert_label.pack(side="bottom", fill="x")

        toolbar = tk.Frame(root, bg="#1c1c1c", pady=pad)
        toolbar.pack(side="bottom", fill="x")
        self.buttons: dict[str, tk.Button] = {}
        for action, text in (("submit", "Submit  [Enter]"), ("keep_all", "Keep all  [k]"),
                             ("undo", "Undo  [b]"), ("aspect", "Next aspect  [a]"),
                             ("lock", "Lock aspect  [Space]"), ("jump", "Go to…  [g]"),
                             ("prev_dir", "◀ Folder  [p]"), ("next_dir", "Folder ▶  [n]"),
                             ("help", "Keys  [?]"), ("quit", "Quit  [q]")):
            button = tk.Button(toolbar, text=text, takefocus=False,
                               padx=round(6 * self.scale), pady=round(2 * self.scale),
                               command=functools.partial(self.act, action))
            button.pack(side="left", padx=3)
            self.buttons[action] = button
        self.buttons["submit"].configure(font=("TkDefaultFont", 10, "bold"))
        self.saving_label = tk.Label(toolbar, bg="#1c1c1c", fg="#80cbc4", padx=12,
                                     font=("TkDefaultFont", 11, "bold"))
        self.saving_label.pack(side="right")

        columns = tk.Frame(root, bg="#1c1c1c")
        columns.pack(side="top", fill="both", expand=True)
        self.panels: list[ImagePanel] = []
        for column in range(self.columns):
            panel = ImagePanel(columns, column, COLUMN_KEYS[column], self._box_drawn,
                               lambda action, col: self.act(action, col),
                               caption_of=self.flow.caption, full_image=self._full_image,
                               on_enter=self._pointer_in, scale=self.scale,
                               snap=self.flow.snap)
            panel.frame.grid(row=0, column=column, sticky="nsew")
            columns.grid_columnconfigure(column, weight=1, uniform="col")
            self.panels.append(panel)
        columns.grid_rowconfigure(0, weight=1)

    def _bind_keys(self) -> None:
        if self.instrument.wants_state:   # tests wait for the keyboard focus before typing
            self.root.bind("<FocusIn>", lambda _e: self._write_state(), add="+")
            self.root.bind("<FocusOut>", lambda _e: self._write_state(), add="+")
        for key in KEYS:
            for sequence in key.sequences:
                self.root.bind(sequence, functools.partial(self._key_event, key.action,
                                                           key.column))
        for sequence, dx, dy in NUDGES:
            self.root.bind(sequence, functools.partial(self._nudge_event, dx, dy))

    def _key_event(self, action: str, column: int | None, _event: tk.Event) -> str:
        return self._key(action, column)

    def _nudge_event(self, dx: int, dy: int, _event: tk.Event) -> str:
        return self._nudge(dx, dy)

    def _key(self, action: str, column: int | None) -> str:
        if self.jump_frame is not None:   # typing into the entry of `g`
            return ""
        self.act(action, column)
        return "break"

    def _nudge(self, dx: int, dy: int) -> str:
        if self.jump_frame is None:
            self._run(self.flow.nudge(dx, dy))
        return "break"

    # --- start --------------------------------------------------------------------

    def start(self) -> None:
        self.root.update()          # lay out, so the columns' sizes are known for decoding
        self.root.focus_force()
        self._run(self.flow.start())
        self.root.after(POLL_MS, self._poll)

    # --- carrying out what the flow says --------------------------------------------------

    def act(self, action: str, column: int | None = None) -> None:
        """Every key and button lands here, and goes to the flow."""
        if self.closing:
            return
        self._run(self.flow.act(action, column))

    def _run(self, outs: list[fl.Out]) -> None:
        for out in outs:
            if isinstance(out, fl.Post):
                self.backend.post(out.command)
            elif isinstance(out, fl.Decode):
                self._decode(out.batch)
            elif isinstance(out, fl.Later):
                self.root.after(out.ms, functools.partial(self._later, out.what))
            elif isinstance(out, fl.Log):
                self.instrument.event(out.name, **out.data)
            elif isinstance(out, fl.Print):
                for line in out.lines:
                    print(line, flush=True)
            elif isinstance(out, fl.Fail):
                print(f"multicrop: {out.message}", file=sys.stderr, flush=True)
                self.exit_code = out.code
            elif isinstance(out, fl.Finish):
                self._finish_close()
                return
        if self.flow.closing:
            self.closing = True
        self._render()

    def _later(self, what: str) -> None:
        if self.destroyed:
            return
        if what == "close_timeout":
            self._finish_close()
        elif what == "retry":
            self._run(self.flow.retry())
        else:
            self._run(self.flow.ensure_claims())

    def _box_drawn(self, column: int, box: Box) -> None:
        self._run(self.flow.set_box(column, box))

    def _pointer_in(self, column: int) -> None:
        if self.flow.active != column:
            self.flow.point_at(column)
            self._render()

    def _full_image(self, slot: Slot) -> Image.Image | None:
        """The loupe's full-resolution picture of a slot on screen: loaded on first use."""
        future = self.full.get(id(slot))
        if future is None:
            self.full[id(slot)] = self.prefetcher.fetch_full(slot.item.path)
            return None
        return future.result() if future.done() and not future.cancelled() else None

    # --- the loop -----------------------------------------------------------------

    def _poll(self) -> None:
        now = time.monotonic()
        if self.shown_once:   # how long the loop went without a turn: a frozen window shows here
            self.longest_stall = max(self.longest_stall, now - self.last_poll)
        self.last_poll = now
        try:
            outs: list[fl.Out] = []
            changed = False
            while True:
                try:
                    event = self.backend.events.get_nowait()
                except queue.Empty:
                    break
                outs += self.flow.handle(event)
                changed = True
            changed = self._collect_previews(outs) or changed
            if outs or changed:
                self._run(outs)
            self._check_loupes()
        finally:
            if not self.destroyed:
                self.root.after(POLL_MS, self._poll)

    def _decode(self, batch: Any) -> None:
        for index, slot in enumerate(batch.slots):
            if slot.preview is None:
                panel = self.panels[min(index, len(self.panels) - 1)]
                self.pending.append((slot, self.prefetcher.fetch(
                    slot.item, panel.canvas_size(), saliency=self.flow.suggest)))

    def _collect_previews(self, outs: list[fl.Out]) -> bool:
        """Hand finished decodes to the flow; True when one arrived."""
        if not self.pending:
            return False
        still: list[tuple[Slot, Future[Preview]]] = []
        arrived = False
        for slot, future in self.pending:
            if not future.done():
                still.append((slot, future))
            elif not future.cancelled():
                outs += self.flow.decoded(slot, future.result())
                arrived = True
        self.pending = still
        return arrived

    def _check_loupes(self) -> None:
        """A loupe picture that just arrived: draw the panel under the pointer again."""
        for panel in self.panels:
            slot = panel.slot
            if slot is not None and panel._pointer is not None:
                future = self.full.get(id(slot))
                if future is not None and future.done() and not getattr(future, "_drawn", False):
                    future._drawn = True  # type: ignore[attr-defined]
                    panel.redraw()
                    self._write_state()

    def _finish_close(self) -> None:
        self.prefetcher.shutdown()
        if not self.destroyed:
            self.destroyed = True
            self.instrument.event("closed", longest_stall_s=self.longest_stall)
            self.root.destroy()

    # --- drawing ------------------------------------------------------------------------

    def _render(self) -> None:
        if self.destroyed:
            return
        view = self.flow.view()
        shown = self._for_screen
        self.heading.config(text=view.heading)
        self.root.title(view.title)
        self.aspect_label.config(text=view.aspect)
        self.buttons["lock"].config(text=view.lock_text)
        for name, button in self.buttons.items():
            _enable(button, view.enabled.get(name, True))
        live = {id(c.slot) for c in view.columns if c.slot is not None}
        for key in [k for k in self.full if k not in live]:
            self.full.pop(key).cancel()
        for panel, column in zip(self.panels, view.columns, strict=True):
            panel.show(column.slot, self.flow.aspect, column.text, shown(column.caption),
                       column.suggestion, column.active)
            for button in panel.buttons.values():
                _enable(button, view.phase == "batch" and column.slot is not None)
        self.progress_label.config(text="\n".join(shown(line) for line in view.progress))
        self.message_label.config(text="\n".join(shown(line) for line in view.messages))
        self.alert_label.config(text=shown(view.alert))
        self.saving_label.config(text=f"saving {view.saving}…" if view.saving else "")
        self._sync_help(view.help)
        self._sync_jump(view.jump)
        batch = self.flow.shown
        if batch is not None and batch.ready() and self.shown_serial != batch.serial:
            self.shown_serial = batch.serial
            self.root.update_idletasks()
            self.instrument.event("batch_shown", serial=batch.serial, files=batch.files)
            self.shown_once = True
        self._write_state()

    def _for_screen(self, text: str) -> str:
        return fl.screen_text(text, self._x11)

    def _sync_help(self, wanted: bool) -> None:
        if wanted and self.help_window is None:
            panel = tk.Frame(self.root, bg=BAR_BG, padx=20, pady=14, highlightthickness=2,
                             highlightbackground="#ffd400")
            tk.Label(panel, text="Keys", bg=BAR_BG, fg="#ffd400",
                     font=("TkDefaultFont", 13, "bold")).pack(anchor="w")
            tk.Label(panel, text=help_text(), justify="left", font=self.help_font,
                     bg=BAR_BG, fg="white").pack()
            tk.Button(panel, text="Close", takefocus=False,
                      command=lambda: self.act("help")).pack(pady=(10, 0))
            panel.place(relx=0.5, rely=0.45, anchor="center")
            self.help_window = panel
        elif not wanted and self.help_window is not None:
            self.help_window.destroy()
            self.help_window = None

    def _sync_jump(self, wanted: bool) -> None:
        if wanted and self.jump_frame is None:
            frame = tk.Frame(self.root, bg=BAR_BG, padx=14, pady=10, highlightthickness=2,
                             highlightbackground="#5ec8ff")
            tk.Label(frame, text="Go to image number or name (Enter goes, Escape cancels):",
                     bg=BAR_BG, fg="white").pack(anchor="w")
            entry = tk.Entry(frame, width=40, font=self.help_font)
            entry.pack(fill="x", pady=(6, 0))
            entry.bind("<Return>", lambda _e: self._jump_done(entry.get()))
            entry.bind("<KP_Enter>", lambda _e: self._jump_done(entry.get()))
            entry.bind("<Escape>", lambda _e: self._jump_done(None))
            frame.place(relx=0.5, rely=0.4, anchor="center")
            entry.focus_set()
            self.jump_frame = frame
        elif not wanted and self.jump_frame is not None:
            self.jump_frame.destroy()
            self.jump_frame = None
            self.root.focus_set()

    def _jump_done(self, text: str | None) -> str:
        if text is None:
            self.flow.cancel_jump()
            self._run([])
        else:
            self._run(self.flow.jump_to(text))
        return "break"

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
        flow = self.flow
        view = flow.view()
        columns = []
        for panel, column in zip(self.panels, view.columns, strict=True):
            data = panel.layout()
            data["caption"] = column.caption
            data["suggestion"] = [round(v, 2) for v in (
                column.suggestion.left, column.suggestion.top, column.suggestion.right,
                column.suggestion.bottom)] if column.suggestion else None
            data["action"] = list(column.slot.action(flow.aspect)) \
                if column.slot is not None and column.slot.preview is not None else None
            data["loupe"] = panel._loupe_photo is not None and panel._pointer is not None
            columns.append(data)
        self.instrument.state({
            "phase": view.phase,
            "title": self.root.title(),
            "heading": self.heading.cget("text"),
            "folder": flow.folder,
            "folders": flow.folders,
            "serial": flow.shown.serial if flow.shown else None,
            "files": flow.shown.files if flow.shown else [],
            "waiting": [b.files for b in flow.waiting],
            "columns": columns,
            "aspect": flow.aspect.describe(),
            "progress": view.progress,
            "progress_shown": self.progress_label.cget("text").splitlines(),
            "messages": view.messages,
            "messages_shown": self.message_label.cget("text").splitlines(),
            "alert": view.alert,
            "done_text": view.done_text,
            "saving": view.saving,
            "active": flow.active,
            "edge": fl.EDGES[flow.edge],
            "help": self.help_window is not None,
            "jump": self.jump_frame is not None,
            "scale": self.scale,
            "enabled": {name: button.cget("state") == "normal"
                        for name, button in self.buttons.items()},
            "buttons": {name: _place(button) for name, button in self.buttons.items()}
            | {f"{action}_{panel.column}": _place(button) for panel in self.panels
               for action, button in panel.buttons.items()},
            "x_window": self.root.winfo_id(),
            "focus": self._has_focus(),
            "window": [self.root.winfo_rootx(), self.root.winfo_rooty(),
                       self.root.winfo_width(), self.root.winfo_height()],
        })


def _enable(button: tk.Button, enabled: bool) -> None:
    state: Literal["normal", "disabled"] = "normal" if enabled else "disabled"
    if button.cget("state") != state:
        button.configure(state=state)


def _focus_of(root: tk.Tk) -> bool:
    try:
        return root.focus_get() is not None
    except (KeyError, tk.TclError):   # focus in a widget Tkinter did not make
        return False


def _place(widget: tk.Misc) -> list[int]:
    return [widget.winfo_rootx(), widget.winfo_rooty(), widget.winfo_width(),
            widget.winfo_height()]
