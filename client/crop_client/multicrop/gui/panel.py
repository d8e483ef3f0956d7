"""One image column of the window: its canvas, rectangle, handles, marks and mouse.

The panel draws a `Slot` (batch.py) with the caption and the dashed
suggestion the flow gives it, and turns mouse gestures into new boxes
through geometry.py: left drag off the handles draws, a handle resizes, the
centre handle or the right button moves; the box goes to the flow, which may
refuse it. While the pointer is on the image a loupe shows the full-resolution
pixels under it (or under the handle being dragged) at 2:1. It knows nothing
of the daemon.
"""

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageTk

from crop_client.multicrop.gui.batch import AspectState, Slot
from crop_client.multicrop.gui.geometry import (
    GRAB_RADIUS,
    HANDLE_SIZE,
    Box,
    Drag,
    ImageView,
    fit_view,
    handle_points,
    hit_handle,
    start_drag,
)

CANVAS_BG = "#262626"
FRAME = "#ffd400"          # the crop rectangle
SUGGESTED = "#5ec8ff"      # a `.decision` suggestion nobody touched yet
DIM = "black"
DELETE_RED = "#e53935"
SKIP_GREY = "#9e9e9e"
LOUPE_SOURCE = 60        # image pixels across the loupe
LOUPE_ZOOM = 2           # screen pixels per image pixel in the loupe (1:1 or more)
CURSORS = {"nw": "top_left_corner", "ne": "top_right_corner", "se": "bottom_right_corner",
           "sw": "bottom_left_corner", "n": "top_side", "s": "bottom_side",
           "e": "right_side", "w": "left_side", "move": "fleur"}


def describe_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""


class ImagePanel:
    """Column `column` (0-based): keys 1/2/3, w/e/r and x/c/v act on it."""

    def __init__(self, parent: tk.Misc, column: int, keys: tuple[str, str, str],
                 on_box: Callable[[int, Box], None],
                 on_button: Callable[[str, int], None],
                 caption_of: Callable[[Slot, Box | None], str] | None = None,
                 full_image: Callable[[Slot], Image.Image | None] | None = None,
                 on_enter: Callable[[int], None] | None = None, scale: float = 1.0,
                 snap: Callable[[Slot, Box], Box] | None = None) -> None:
        self.column = column
        self.on_box = on_box
        self.caption_of = caption_of
        self.full_image = full_image
        self.on_enter = on_enter
        self.snap = snap
        self.scale = scale
        self.slot: Slot | None = None
        self.aspect: AspectState | None = None
        self.view: ImageView | None = None
        self.message = ""
        self.caption_text = ""
        self.suggestion: Box | None = None
        self.active = False
        self._photo: ImageTk.PhotoImage | None = None
        self._photo_key: tuple[int, int, int] | None = None
        self._drag: Drag | None = None
        self._loupe_photo: ImageTk.PhotoImage | None = None
        self._pointer: tuple[float, float] | None = None
        self._live: Box | None = None

        self.frame = tk.Frame(parent, bg="#1c1c1c", padx=4, pady=4)
        self.title = tk.Label(self.frame, anchor="w", fg="white", bg="#1c1c1c",
                              font=("TkDefaultFont", 11, "bold"))
        self.handle_size = round(HANDLE_SIZE * scale)
        self.grab_radius = GRAB_RADIUS * scale
        self.title.pack(fill="x")
        self.canvas = tk.Canvas(self.frame, bg=CANVAS_BG, highlightthickness=0,
                                cursor="crosshair", width=200, height=200)
        self.canvas.pack(fill="both", expand=True)
        self.caption = tk.Label(self.frame, anchor="w", fg="#dddddd", bg="#1c1c1c",
                                justify="left")
        self.caption.pack(fill="x")
        buttons = tk.Frame(self.frame, bg="#1c1c1c")
        buttons.pack(fill="x")
        delete_key, skip_key, reset_key = keys
        self.buttons: dict[str, tk.Button] = {}
        for text, action in ((f"Delete [{delete_key}]", "delete"),
                             (f"Skip [{skip_key}]", "skip"),
                             (f"Whole image [{reset_key}]", "reset")):
            button = tk.Button(buttons, text=text, takefocus=False,
                               command=functools.partial(on_button, action, column))
            button.pack(side="left", padx=2)
            self.buttons[action] = button

        self.canvas.bind("<Configure>", lambda _e: self.redraw())
        self.canvas.bind("<ButtonPress-1>", lambda e: self._press(e, move=False))
        self.canvas.bind("<B1-Motion>", self._motion)
        self.canvas.bind("<ButtonRelease-1>", self._release)
        self.canvas.bind("<ButtonPress-3>", lambda e: self._press(e, move=True))
        self.canvas.bind("<B3-Motion>", self._motion)
        self.canvas.bind("<ButtonRelease-3>", self._release)
        self.canvas.bind("<Motion>", self._hover)
        self.canvas.bind("<Leave>", self._leave)

    # --- content ------------------------------------------------------------------

    def canvas_size(self) -> tuple[int, int]:
        self.canvas.update_idletasks()
        return (max(1, self.canvas.winfo_width()), max(1, self.canvas.winfo_height()))

    def show(self, slot: Slot | None, aspect: AspectState, message: str = "",
             caption: str = "", suggestion: Box | None = None, active: bool = False) -> None:
        """Show a slot (None: an empty column) or, while it decodes, a message."""
        if slot is not self.slot:
            self._photo, self._photo_key, self._drag = None, None, None
        self.slot, self.aspect, self.message = slot, aspect, message
        self.caption_text, self.suggestion, self.active = caption, suggestion, active
        self.redraw()

    def redraw(self) -> None:
        canvas = self.canvas
        canvas.delete("all")
        width, height = max(1, canvas.winfo_width()), max(1, canvas.winfo_height())
        slot = self.slot
        self.view = None
        self._update_labels()
        if slot is None or slot.preview is None:
            text = self.message if slot is not None or self.message else ""
            canvas.create_text(width / 2, height / 2, text=text, fill="#bbbbbb",
                               font=("TkDefaultFont", 14), width=width - 20)
            return
        if slot.preview.image is None or slot.full_size is None:
            canvas.create_text(width / 2, height / 2, fill="#ff8a80", width=width - 20,
                               font=("TkDefaultFont", 13), justify="center",
                               text=f"Cannot read this image\n{slot.preview.error or ''}\n\n"
                                    "Submit reports it as failed; or skip it.")
            self._draw_mark(0, 0, width, height)
            return
        self.view = fit_view(*slot.full_size, width, height)
        view = self.view
        photo = self._photo_for(slot, view)
        canvas.create_image(view.origin_x, view.origin_y, image=photo, anchor="nw")
        box = self._live if self._live is not None else slot.box
        if box is not None:
            self._draw_box(view, box, slot.suggested and self._live is None)
        if self.suggestion is not None and self.suggestion != box:
            x1, y1, x2, y2 = view.box_on_screen(self.suggestion)
            canvas.create_rectangle(x1, y1, x2 - 1, y2 - 1, outline="black", width=3)
            canvas.create_rectangle(x1, y1, x2 - 1, y2 - 1, outline=SUGGESTED, width=2,
                                    dash=(8, 5))
            canvas.create_text(x1 + 6, y2 - 6, anchor="sw", fill=SUGGESTED,
                               text="suggestion: s adopts, S for all",
                               font=("TkDefaultFont", 9, "bold"))
        self._draw_mark(view.origin_x, view.origin_y, view.origin_x + view.shown_w,
                        view.origin_y + view.shown_h)
        self._draw_loupe()

    def _photo_for(self, slot: Slot, view: ImageView) -> ImageTk.PhotoImage:
        key = (id(slot), view.shown_w, view.shown_h)
        if self._photo is None or self._photo_key != key:
            assert slot.preview is not None and slot.preview.image is not None
            picture = slot.preview.image
            if picture.size != (view.shown_w, view.shown_h):   # the window was resized
                picture = picture.resize((view.shown_w, view.shown_h),
                                         Image.Resampling.BILINEAR)
            self._photo = ImageTk.PhotoImage(picture, master=self.canvas)
            self._photo_key = key
        return self._photo

    def _draw_box(self, view: ImageView, box: Box, suggested: bool) -> None:
        canvas = self.canvas
        x1, y1, x2, y2 = view.box_on_screen(box)
        ix1, iy1 = view.origin_x, view.origin_y
        ix2, iy2 = ix1 + view.shown_w, iy1 + view.shown_h
        for left, top, right, bottom in ((ix1, iy1, ix2, y1), (ix1, y2, ix2, iy2),
                                         (ix1, y1, x1, y2), (x2, y1, ix2, y2)):
            if right - left >= 1 and bottom - top >= 1:
                canvas.create_rectangle(left, top, right, bottom, fill=DIM, outline="",
                                        stipple="gray50")
        colour = SUGGESTED if suggested else FRAME
        dash: Any = (6, 4) if suggested else ""
        canvas.create_rectangle(x1, y1, x2 - 1, y2 - 1, outline="black", width=3)
        canvas.create_rectangle(x1, y1, x2 - 1, y2 - 1, outline=colour, width=2, dash=dash)
        half = self.handle_size / 2
        for name, (hx, hy) in handle_points(view, box).items():
            if name == "move":
                canvas.create_oval(hx - half, hy - half, hx + half, hy + half,
                                   fill=colour, outline="black")
                canvas.create_line(hx - half + 2, hy, hx + half - 1, hy, fill="black")
                canvas.create_line(hx, hy - half + 2, hx, hy + half - 1, fill="black")
            else:
                canvas.create_rectangle(hx - half, hy - half, hx + half, hy + half,
                                        fill=colour, outline="black")
        if suggested:
            label = canvas.create_text(x1 + 8, y1 + 8, anchor="nw", text="suggested crop",
                                       fill=SUGGESTED, font=("TkDefaultFont", 10, "bold"))
            left, top, right, bottom = canvas.bbox(label)
            backdrop = canvas.create_rectangle(left - 3, top - 2, right + 3, bottom + 2,
                                               fill="black", outline="")
            canvas.tag_lower(backdrop, label)

    def _draw_mark(self, left: float, top: float, right: float, bottom: float) -> None:
        slot = self.slot
        if slot is None or slot.mark is None:
            return
        colour, text = (DELETE_RED, "DELETE") if slot.mark == "delete" else (SKIP_GREY, "SKIP")
        canvas = self.canvas
        canvas.create_rectangle(left, top, right, bottom, fill=colour, outline=colour,
                                stipple="gray50", width=4)
        size = max(18, min(72, int((right - left) / 5)))
        canvas.create_text((left + right) / 2 + 2, (top + bottom) / 2 + 2, text=text,
                           fill="black", font=("TkDefaultFont", size, "bold"))
        canvas.create_text((left + right) / 2, (top + bottom) / 2, text=text,
                           fill="white" if slot.mark == "delete" else "#eeeeee",
                           font=("TkDefaultFont", size, "bold"))

    def _update_labels(self) -> None:
        slot = self.slot
        number = self.column + 1
        if slot is None:
            self.title.config(text=f"{number}  —", fg="#888888")
            self.caption.config(text="")
            return
        item = slot.item
        colour = {"delete": DELETE_RED, "skip": SKIP_GREY}.get(slot.mark or "", "white")
        marker = "▸ " if self.active else ""
        self.title.config(text=f"{marker}{number}  {item.file}", fg=colour)
        text = self.caption_text
        if self._live is not None and self.caption_of is not None:
            text = self.caption_of(slot, self._live)
        self.caption.config(text=text)

    # --- loupe ----------------------------------------------------------------------

    def _draw_loupe(self) -> None:
        """The full-resolution pixels around the pointer (or the dragged handle), 2:1."""
        slot, view, point = self.slot, self.view, self._pointer
        if slot is None or view is None or point is None or self.full_image is None:
            return
        if not view.contains(*point) and self._drag is None:
            return
        full = self.full_image(slot)
        if full is None:
            return
        fx, fy = view.to_image(*point)
        half = LOUPE_SOURCE // 2
        left, top = int(fx) - half, int(fy) - half
        part = full.crop((left, top, left + LOUPE_SOURCE, top + LOUPE_SOURCE))
        side = round(LOUPE_SOURCE * LOUPE_ZOOM * self.scale)
        zoom = side / LOUPE_SOURCE
        part = part.resize((side, side), Image.Resampling.NEAREST)
        self._loupe_photo = ImageTk.PhotoImage(part, master=self.canvas)
        width = max(1, self.canvas.winfo_width())
        # the loupe sits in the top corner away from the pointer
        x0 = 6 if point[0] > width / 2 else width - side - 6
        y0 = 6
        canvas = self.canvas
        canvas.create_rectangle(x0 - 2, y0 - 2, x0 + side + 1, y0 + side + 1, fill="black",
                                outline=FRAME if self._drag is not None else "#888888", width=2)
        canvas.create_image(x0, y0, image=self._loupe_photo, anchor="nw")
        box = self._live if self._live is not None else slot.box
        if box is not None:   # the rectangle's edges inside the loupe, where they pass
            bx1, by1 = x0 + (box.left - left) * zoom, y0 + (box.top - top) * zoom
            bx2, by2 = x0 + (box.right - left) * zoom, y0 + (box.bottom - top) * zoom
            canvas.create_rectangle(max(x0, bx1), max(y0, by1), min(x0 + side, bx2),
                                    min(y0 + side, by2), outline=FRAME, width=1)
        centre_x, centre_y = x0 + (fx - left) * zoom, y0 + (fy - top) * zoom
        canvas.create_line(centre_x - 8, centre_y, centre_x + 8, centre_y, fill="#00e5ff")
        canvas.create_line(centre_x, centre_y - 8, centre_x, centre_y + 8, fill="#00e5ff")
        canvas.create_text(x0 + 4, y0 + side - 4, anchor="sw", fill="white",
                           text=f"{int(fx)}, {int(fy)}  {LOUPE_ZOOM}:1",
                           font=("TkDefaultFont", 9, "bold"))

    # --- mouse --------------------------------------------------------------------

    def _press(self, event: tk.Event, move: bool) -> None:
        slot, view = self.slot, self.view
        if slot is None or view is None or slot.box is None or self.aspect is None:
            return
        ratio = self.aspect.ratio(view.full_w, view.full_h)
        self._drag = start_drag(view, slot.box, event.x, event.y, ratio, move_anywhere=move,
                                radius=self.grab_radius)

    def _motion(self, event: tk.Event) -> None:
        if self._drag is None or self.slot is None or self.view is None:
            return
        self._live = self._snapped(self._drag.update(event.x, event.y), event)
        self._pointer = self._drag_point(event)
        self.redraw()

    def _snapped(self, box: Box, event: tk.Event) -> Box:
        """With Shift held, the nearest bucket's ratio (the flow's `snap`)."""
        shift = bool(int(getattr(event, "state", 0) or 0) & 0x0001)
        if shift and self.snap is not None and self.slot is not None:
            return self.snap(self.slot, box)
        return box

    def _drag_point(self, event: tk.Event) -> tuple[float, float]:
        """Where the loupe looks while dragging: the handle's corner or side, else the pointer."""
        drag, view = self._drag, self.view
        if drag is None or view is None or self._live is None:
            return (event.x, event.y)
        handle = getattr(drag, "handle", None)
        if handle is None:
            return (event.x, event.y)
        return handle_points(view, self._live)[handle]

    def _release(self, event: tk.Event) -> None:
        drag, self._drag = self._drag, None
        self._live = None
        if drag is None or self.slot is None:
            return
        box = drag.finish(event.x, event.y)
        if box is not None:
            self.on_box(self.column, self._snapped(box, event))
        self.redraw()

    def _hover(self, event: tk.Event) -> None:
        if self._drag is not None:
            return
        if self.on_enter is not None and not self.active:
            self.on_enter(self.column)
        slot, view = self.slot, self.view
        cursor = "crosshair"
        if slot is not None and view is not None and slot.box is not None:
            handle = hit_handle(view, slot.box, event.x, event.y, self.grab_radius)
            if handle is not None:
                cursor = CURSORS[handle]
        if self.canvas.cget("cursor") != cursor:
            self.canvas.config(cursor=cursor)
        if self.full_image is not None and view is not None:
            self._pointer = (event.x, event.y)
            self.redraw()

    def _leave(self, _event: tk.Event) -> None:
        if self._drag is None and self._pointer is not None:
            self._pointer = None
            self.redraw()

    def layout(self) -> dict[str, Any]:
        """Where the image sits on the screen, for tests and the benchmark (debug output)."""
        root_x, root_y = self.canvas.winfo_rootx(), self.canvas.winfo_rooty()
        slot, view = self.slot, self.view
        data: dict[str, Any] = {"column": self.column, "file": slot.item.file if slot else None,
                                "canvas": [root_x, root_y, self.canvas.winfo_width(),
                                           self.canvas.winfo_height()]}
        if slot is not None:
            data.update(mark=slot.mark, suggested=slot.suggested, touched=slot.touched,
                        full_size=list(slot.full_size) if slot.full_size else None,
                        box=[round(v, 2) for v in (slot.box.left, slot.box.top,
                                                   slot.box.right, slot.box.bottom)]
                        if slot.box else None)
        if view is not None:
            data.update(image_screen=[root_x + view.origin_x, root_y + view.origin_y],
                        shown_size=[view.shown_w, view.shown_h])
        return data
