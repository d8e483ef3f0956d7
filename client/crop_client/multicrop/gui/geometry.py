"""Crop-rectangle geometry, free of Tk: boxes, screen↔image mapping, handles, drags.

A `Box` lives in full-resolution image pixels (after EXIF orientation), as
floats while the person works; `Box.pixels()` rounds it for the file work.
An `ImageView` says where an image is drawn on its canvas, and maps points
both ways so that the canvas corners of the image are exactly the image's
corners. A `Drag` turns mouse motion into a new box: drawing a new rectangle,
resizing from one of 8 handles, or moving it (centre handle or right button),
always held inside the image and to the aspect ratio when one is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Handle = Literal["nw", "n", "ne", "e", "se", "s", "sw", "w", "move"]
HANDLES: tuple[Handle, ...] = ("nw", "ne", "se", "sw", "n", "e", "s", "w", "move")

GRAB_RADIUS = 14        # screen pixels around a handle that grab it
HANDLE_SIZE = 11        # drawn side of a handle square, screen pixels
MIN_DRAG = 5            # screen pixels a new rectangle must span, as in the origin tool
MIN_SIDE = 1.0          # image pixels: the smallest box side while dragging
MIN_CROP = 16           # image pixels: a crop narrower or lower than this is refused


@dataclass(frozen=True)
class Box:
    """A rectangle in full-resolution image pixels: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def full(cls, width: int, height: int) -> Box:
        return cls(0.0, 0.0, float(width), float(height))

    @classmethod
    def of(cls, values: Sequence[float]) -> Box:
        left, top, right, bottom = (float(v) for v in values)
        return cls(min(left, right), min(top, bottom), max(left, right), max(top, bottom))

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)

    def pixels(self, width: int, height: int,
               ratio: Fraction | None = None) -> tuple[int, int, int, int]:
        """Whole pixels inside a width x height image, at least one pixel each way.

        The size is rounded once and the place once, so moving a box never changes
        its size; with a `ratio` (exact, as a fraction) a box of that ratio keeps it
        exactly where whole pixels allow (see `exact_size`)."""
        box_w = min(max(1, round(self.width)), width)
        box_h = min(max(1, round(self.height)), height)
        # only a box already of the ratio (up to rounding) is held to it exactly: a
        # `.decision` box of another shape stays as it was suggested
        if ratio and abs(self.width - self.height * float(ratio)) <= 2.0 * max(1.0, float(ratio)):
            box_w, box_h = exact_size(self.width, self.height, ratio, width, height)
        cx, cy = self.centre
        left = min(max(0, round(cx - box_w / 2)), width - box_w)
        top = min(max(0, round(cy - box_h / 2)), height - box_h)
        return (left, top, left + box_w, top + box_h)

    def is_full(self, width: int, height: int) -> bool:
        return self.pixels(width, height) == (0, 0, width, height)


@dataclass(frozen=True)
class ImageView:
    """An image of `full` size drawn `shown` big with its top-left at `origin` (canvas pixels)."""

    full_w: int
    full_h: int
    origin_x: int
    origin_y: int
    shown_w: int
    shown_h: int

    @property
    def scale(self) -> float:
        return self.shown_w / self.full_w

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """A canvas point to image pixels, held inside the image."""
        fx = (x - self.origin_x) * self.full_w / self.shown_w
        fy = (y - self.origin_y) * self.full_h / self.shown_h
        return (_clamp(fx, 0.0, self.full_w), _clamp(fy, 0.0, self.full_h))

    def to_screen(self, fx: float, fy: float) -> tuple[float, float]:
        return (self.origin_x + fx * self.shown_w / self.full_w,
                self.origin_y + fy * self.shown_h / self.full_h)

    def box_on_screen(self, box: Box) -> tuple[float, float, float, float]:
        x1, y1 = self.to_screen(box.left, box.top)
        x2, y2 = self.to_screen(box.right, box.bottom)
        return (x1, y1, x2, y2)

    def contains(self, x: float, y: float) -> bool:
        return (self.origin_x <= x < self.origin_x + self.shown_w
                and self.origin_y <= y < self.origin_y + self.shown_h)


def exact_size(width: float, height: float, ratio: Fraction, full_w: int,
               full_h: int) -> tuple[int, int]:
    """Whole-pixel size nearest width × height with exactly `ratio` (p:q) when a multiple of
    p × q is near enough (p at most an eighth of the width), else the width rounded and the
    height following it; never outside the image."""
    p, q = ratio.numerator, ratio.denominator
    if p <= max(1.0, width / 8) and q <= max(1.0, height / 8):
        k = max(1, min(round(width / p), full_w // p, full_h // q))
        if k >= 1 and k * p <= full_w and k * q <= full_h:
            return (k * p, k * q)
    box_w = min(max(1, round(width)), full_w)
    box_h = min(max(1, round(box_w / float(ratio))), full_h)
    return (box_w, box_h)


def fit_view(full_w: int, full_h: int, canvas_w: int, canvas_h: int,
             margin: int = 8) -> ImageView:
    """The largest view of the image centred in the canvas, `margin` pixels clear of its sides."""
    room_w, room_h = max(1, canvas_w - 2 * margin), max(1, canvas_h - 2 * margin)
    scale = min(room_w / full_w, room_h / full_h)
    shown_w = max(1, min(room_w, round(full_w * scale)))
    shown_h = max(1, min(room_h, round(full_h * scale)))
    return ImageView(full_w, full_h, (canvas_w - shown_w) // 2, (canvas_h - shown_h) // 2,
                     shown_w, shown_h)


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


# --- aspect ---------------------------------------------------------------------

def centre_box(full_w: int, full_h: int, ratio: float | None) -> Box:
    """The largest box of `ratio` (width/height) centred in the image; the image when None."""
    if not ratio:
        return Box.full(full_w, full_h)
    if full_w / full_h > ratio:
        width, height = full_h * ratio, float(full_h)
    else:
        width, height = float(full_w), full_w / ratio
    left, top = (full_w - width) / 2, (full_h - height) / 2
    return Box(left, top, left + width, top + height)


def fit_ratio(box: Box, ratio: float | None, full_w: int, full_h: int) -> Box:
    """Shrink the longer side of `box` about its centre to `ratio`, as the origin tool does."""
    if not ratio or box.width <= 0 or box.height <= 0:
        return box
    width, height = box.width, box.height
    if width / height > ratio:
        width = height * ratio
    else:
        height = width / ratio
    cx, cy = box.centre
    return clamp_box(Box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2),
                     full_w, full_h)


def clamp_box(box: Box, full_w: int, full_h: int) -> Box:
    """Move (never resize, unless larger than the image) the box inside the image."""
    width, height = min(box.width, full_w), min(box.height, full_h)
    left = _clamp(box.left, 0.0, full_w - width)
    top = _clamp(box.top, 0.0, full_h - height)
    return Box(left, top, left + width, top + height)


def suggestion_box(coords: Sequence[float], full_w: int, full_h: int) -> Box | None:
    """Normalised `[x1, y1, x2, y2]` (the `.decision` format) to pixels, clamped; None if empty."""
    x1, y1, x2, y2 = (_clamp(float(v), 0.0, 1.0) for v in coords)
    box = Box.of((x1 * full_w, y1 * full_h, x2 * full_w, y2 * full_h))
    if box.width < MIN_SIDE or box.height < MIN_SIDE:
        return None
    return box


# --- sizing from an anchor ------------------------------------------------------

def _span(anchor: float, sign: int, size: float) -> tuple[float, float]:
    return (anchor, anchor + size) if sign > 0 else (anchor - size, anchor)


def box_from_anchor(ax: float, ay: float, tx: float, ty: float, ratio: float | None,
                    full_w: int, full_h: int) -> Box:
    """The box with a fixed corner at (ax, ay) reaching toward (tx, ty), inside the image.

    With a ratio, the side that moved most wins and the other follows; the
    box then shrinks, keeping the ratio, until it fits.
    """
    sx = 1 if tx >= ax else -1
    sy = 1 if ty >= ay else -1
    width, height = max(abs(tx - ax), MIN_SIDE), max(abs(ty - ay), MIN_SIDE)
    room_w = full_w - ax if sx > 0 else ax
    room_h = full_h - ay if sy > 0 else ay
    room_w, room_h = max(room_w, MIN_SIDE), max(room_h, MIN_SIDE)
    if ratio:
        if width / height > ratio:
            height = width / ratio
        else:
            width = height * ratio
        shrink = min(1.0, room_w / width, room_h / height)
        width, height = width * shrink, height * shrink
    else:
        width, height = min(width, room_w), min(height, room_h)
    left, right = _span(ax, sx, width)
    top, bottom = _span(ay, sy, height)
    return Box(left, top, right, bottom)


def _edge_resize(box: Box, handle: Handle, tx: float, ty: float, ratio: float | None,
                 full_w: int, full_h: int) -> Box:
    """Move one side to the target; with a ratio the other axis follows about its centre."""
    horizontal = handle in ("e", "w")
    if horizontal:
        anchor, target, limit = (box.left if handle == "e" else box.right), tx, full_w
    else:
        anchor, target, limit = (box.top if handle == "s" else box.bottom), ty, full_h
    sign = 1 if target >= anchor else -1
    size = max(abs(target - anchor), MIN_SIDE)
    size = min(size, max(limit - anchor if sign > 0 else anchor, MIN_SIDE))
    lo, hi = _span(anchor, sign, size)
    if not ratio:
        if horizontal:
            return Box(lo, box.top, hi, box.bottom)
        return Box(box.left, lo, box.right, hi)
    cx, cy = box.centre
    if horizontal:
        other, other_limit = size / ratio, 2 * min(cy, full_h - cy)
        if other > other_limit:
            other, size = other_limit, other_limit * ratio
            lo, hi = _span(anchor, sign, size)
        return Box(lo, cy - other / 2, hi, cy + other / 2)
    other, other_limit = size * ratio, 2 * min(cx, full_w - cx)
    if other > other_limit:
        other, size = other_limit, other_limit / ratio
        lo, hi = _span(anchor, sign, size)
    return Box(cx - other / 2, lo, cx + other / 2, hi)


# --- handles --------------------------------------------------------------------

def handle_points(view: ImageView, box: Box) -> dict[Handle, tuple[float, float]]:
    """Canvas positions of the 8 resize handles and the centre (move) handle."""
    x1, y1, x2, y2 = view.box_on_screen(box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return {"nw": (x1, y1), "n": (cx, y1), "ne": (x2, y1), "e": (x2, cy),
            "se": (x2, y2), "s": (cx, y2), "sw": (x1, y2), "w": (x1, cy), "move": (cx, cy)}


def hit_handle(view: ImageView, box: Box, x: float, y: float,
               radius: float = GRAB_RADIUS) -> Handle | None:
    """The handle under the canvas point: the nearest within `radius`, corners first on ties."""
    best: Handle | None = None
    best_distance = radius * radius
    for name, (hx, hy) in handle_points(view, box).items():
        distance = (hx - x) ** 2 + (hy - y) ** 2
        if distance <= best_distance and (best is None or distance < best_distance):
            best, best_distance = name, distance
    return best


# --- drags ----------------------------------------------------------------------

_OPPOSITE = {"nw": ("right", "bottom"), "ne": ("left", "bottom"),
             "se": ("left", "top"), "sw": ("right", "top")}


class Drag:
    """One mouse gesture on an image: `update` maps the pointer to the new box."""

    def __init__(self, view: ImageView, start: Box, x: float, y: float,
                 ratio: float | None) -> None:
        self.view, self.start, self.x0, self.y0, self.ratio = view, start, x, y, ratio
        self.moved = False

    def update(self, x: float, y: float) -> Box:
        if abs(x - self.x0) >= 1 or abs(y - self.y0) >= 1:
            self.moved = True
        return self._box(x, y)

    def _box(self, x: float, y: float) -> Box:
        raise NotImplementedError

    def finish(self, x: float, y: float) -> Box | None:
        """The final box, or None when the gesture was a click (the box stays as it was)."""
        box = self.update(x, y)
        return box if self.moved else None


class NewRect(Drag):
    """Draw a new rectangle: it covers the pressed pixel and the pixel under the pointer."""

    def _box(self, x: float, y: float) -> Box:
        v = self.view
        ax_screen = self.x0 if x >= self.x0 else self.x0 + 1
        ay_screen = self.y0 if y >= self.y0 else self.y0 + 1
        tx_screen = x + 1 if x >= self.x0 else x
        ty_screen = y + 1 if y >= self.y0 else y
        ax, ay = v.to_image(ax_screen, ay_screen)
        tx, ty = v.to_image(tx_screen, ty_screen)
        return box_from_anchor(ax, ay, tx, ty, self.ratio, v.full_w, v.full_h)

    def finish(self, x: float, y: float) -> Box | None:
        box = self.update(x, y)
        if abs(x - self.x0) < MIN_DRAG and abs(y - self.y0) < MIN_DRAG:
            return None
        return box


class Resize(Drag):
    """Drag one of the 8 handles; the opposite corner or side stays put."""

    def __init__(self, view: ImageView, start: Box, x: float, y: float,
                 ratio: float | None, handle: Handle) -> None:
        super().__init__(view, start, x, y, ratio)
        self.handle = handle
        hx, hy = handle_points(view, start)[handle]
        self.dx, self.dy = hx - x, hy - y   # grabbing slightly off the handle makes no jump

    def _box(self, x: float, y: float) -> Box:
        v, start = self.view, self.start
        tx, ty = v.to_image(x + self.dx, y + self.dy)
        if self.handle in _OPPOSITE:
            ax_name, ay_name = _OPPOSITE[self.handle]
            return box_from_anchor(getattr(start, ax_name), getattr(start, ay_name), tx, ty,
                                   self.ratio, v.full_w, v.full_h)
        return _edge_resize(start, self.handle, tx, ty, self.ratio, v.full_w, v.full_h)


class Move(Drag):
    """Move the rectangle by the pointer's motion, held inside the image."""

    def _box(self, x: float, y: float) -> Box:
        v, start = self.view, self.start
        dx = (x - self.x0) * v.full_w / v.shown_w
        dy = (y - self.y0) * v.full_h / v.shown_h
        return clamp_box(Box(start.left + dx, start.top + dy, start.right + dx,
                             start.bottom + dy), v.full_w, v.full_h)


def start_drag(view: ImageView, box: Box, x: float, y: float, ratio: float | None,
               *, move_anywhere: bool = False, radius: float = GRAB_RADIUS) -> Drag:
    """The gesture a press at (x, y) begins: move with the right button or the centre handle,
    resize on a handle, otherwise draw a new rectangle."""
    if move_anywhere:
        return Move(view, box, x, y, ratio)
    handle = hit_handle(view, box, x, y, radius)
    if handle == "move":
        return Move(view, box, x, y, ratio)
    if handle is not None:
        return Resize(view, box, x, y, ratio, handle)
    return NewRect(view, box, x, y, ratio)
