"""The flow's rules for one rectangle at a time, without Tk: drawn, dragged and nudged
boxes (a crop under MIN_CROP a side is refused), Shift's snap to a bucket ratio,
adopting a computed suggestion for one image or the batch, and `g` (go to an image).

`Precision` is a part of `Flow` (flow.py), kept apart to keep each file small: it
reads and sets the flow's state declared below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crop_client import shaping
from crop_client.multicrop.gui import backend as bk
from crop_client.multicrop.gui.batch import AspectState, Batch, Slot
from crop_client.multicrop.gui.geometry import MIN_CROP, Box, Handle, _edge_resize, fit_ratio

if TYPE_CHECKING:
    from crop_client.multicrop.gui.flow import Out

EDGES = ("right", "bottom", "left", "top")   # Tab cycles the edge the nudge keys move


class Precision:
    aspect: AspectState
    shape: shaping.Shape | None
    suggest: bool
    columns: int
    shown: Batch | None
    alert: str
    warned: str | None
    closing: bool
    help: bool
    jump: bool
    opened: dict[str, Any]
    active: int
    edge: int

    @property
    def folder(self) -> str | None:
        raise NotImplementedError

    def _slot(self, column: int) -> Slot | None:
        raise NotImplementedError

    def _do_adopt(self) -> list[Out]:
        """`s`: the computed suggestion becomes the active image's rectangle."""
        return self._adopt([self.active])

    def _do_adopt_all(self) -> list[Out]:
        """`S`: the computed suggestion for every image of the batch."""
        return self._adopt(list(range(self.columns)))

    def _adopt(self, columns: list[int]) -> list[Out]:
        if not self.suggest:
            self.alert = "No suggestions: start with --suggest saliency."
            return []
        taken = 0
        for column in columns:
            slot = self._slot(column)
            if slot is not None and slot.mark is None and slot.adopt(self.aspect):
                taken += 1
                self.warned = None
        if not taken:
            self.alert = "No suggestion for this image yet."
        return []

    def _do_edge(self) -> list[Out]:
        """Tab: the next edge of the active rectangle for the nudge keys."""
        self.edge = (self.edge + 1) % len(EDGES)
        return []

    def nudge(self, dx: int, dy: int) -> list[Out]:
        """Ctrl+arrows: move the active edge by (dx, dy) image pixels; Left/Right move the
        left or right edge (whichever is active, right by default), Up/Down the top or
        bottom one. The locked aspect is kept, the other axis following about its centre."""
        if self.closing or self.help:
            self.help = False
            return []
        slot = self._slot(self.active)
        if slot is None or slot.box is None or slot.full_size is None:
            return []
        full_w, full_h = slot.full_size
        box = Box.of(slot.box.pixels(full_w, full_h, self.aspect.exact(full_w, full_h)))
        edge = EDGES[self.edge]
        if dx:
            handle: Handle = "w" if edge == "left" else "e"
            target = (box.left if handle == "w" else box.right) + dx
            new = _edge_resize(box, handle, target, 0.0, self.aspect.ratio(full_w, full_h),
                               full_w, full_h)
        else:
            handle = "n" if edge == "top" else "s"
            target = (box.top if handle == "n" else box.bottom) + dy
            new = _edge_resize(box, handle, 0.0, target, self.aspect.ratio(full_w, full_h),
                               full_w, full_h)
        return self.set_box(self.active, new)

    def snap(self, slot: Slot, box: Box) -> Box:
        """Shift while dragging: the box fitted to the nearest bucket's ratio (`--fit`), or
        to `--exact`'s; unchanged without such a shape."""
        shape = self.shape
        if shape is None or slot.full_size is None or box.width <= 0 or box.height <= 0:
            return box
        if shape.kind == "bucket":
            out_w, out_h = shaping.nearest_bucket(shape.a, shape.b, box.width / box.height)
        elif shape.kind == "exact":
            out_w, out_h = shape.a, shape.b
        else:
            return box
        return fit_ratio(box, out_w / out_h, *slot.full_size)

    def set_box(self, column: int, box: Box) -> list[Out]:
        """A drawn, dragged or nudged rectangle; one under MIN_CROP a side is refused."""
        slot = self._slot(column)
        if slot is None or slot.full_size is None:
            return []
        self.active = column
        left, top, right, bottom = box.pixels(*slot.full_size)
        if right - left < MIN_CROP or bottom - top < MIN_CROP:
            self.alert = (f"A crop of {right - left} × {bottom - top} is too small: at least "
                          f"{MIN_CROP} px a side. The rectangle stays as it was.")
            return []
        slot.set_box(box)
        self.edited(column)
        return []

    def edited(self, column: int) -> None:
        self.warned = None
        self.active = column
        if self.alert.startswith("Unsubmitted changes!"):
            self.alert = ""

    def point_at(self, column: int) -> None:
        """The pointer entered a column: the keys that act on one image act on it."""
        if 0 <= column < self.columns:
            self.active = column

    def _do_jump(self) -> list[Out]:
        """`g`: ask for an image number or name (the window shows the entry)."""
        if self.folder is None or self.folder not in self.opened:
            return []
        self.jump = True
        return []

    def jump_to(self, query: str) -> list[Out]:
        self.jump = False
        query = query.strip()
        folder = self.folder
        if not query or folder is None:
            return []
        if self.shown is not None and self.shown.changed():
            self.alert = "Unsubmitted changes! Submit them (Enter) before going to another image."
            return []
        from crop_client.multicrop.gui.flow import Post

        return [Post(bk.Jump(folder, query, self.columns))]

    def cancel_jump(self) -> None:
        self.jump = False

