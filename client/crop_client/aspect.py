"""Aspect ratios of the crop rectangle: `original`, `free`, `1:1`, `4:3`, `3:2`, `16:9`, `W:H`."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

PRESETS = ("original", "1:1", "4:3", "3:2", "16:9", "free")


@dataclass(frozen=True)
class Aspect:
    name: str                 # as the user wrote it: "original", "free", "4:3"
    ratio: float | None       # width / height; None for original and free

    def for_image(self, width: int, height: int) -> float | None:
        """The ratio to keep for an image of this size; None means free."""
        if self.name == "original":
            return width / height if height else None
        return self.ratio

    def exact(self, width: int, height: int) -> Fraction | None:
        """The ratio as an exact fraction: the image's own W:H for original, the preset's
        numbers (4:3, 16:9) or the nearest fraction to a decimal one; None for free."""
        if self.name == "original":
            return Fraction(width, height) if width and height else None
        if self.ratio is None:
            return None
        parts = self.name.replace("x", ":").split(":")
        try:
            return Fraction(parts[0]) / Fraction(parts[1])
        except (ValueError, ZeroDivisionError, IndexError):
            return Fraction(self.ratio).limit_denominator(1000)

    def next_preset(self) -> Aspect:
        """The `a` key: original, 1:1, 4:3, 3:2, 16:9, free, then round again."""
        index = PRESETS.index(self.name) if self.name in PRESETS else -1
        return parse_aspect(PRESETS[(index + 1) % len(PRESETS)])


def parse_aspect(text: str) -> Aspect:
    """Raises ValueError with a one-line reason for anything else."""
    value = text.strip().lower()
    if value in ("original", "free"):
        return Aspect(value, None)
    parts = value.replace("x", ":").split(":")
    if len(parts) == 2:
        try:
            width, height = float(parts[0]), float(parts[1])
        except ValueError:
            width = height = 0.0
        if width > 0 and height > 0:
            return Aspect(value, width / height)
    raise ValueError(f"invalid aspect {text!r}: use original, free, or W:H such as 4:3")


def center_box(width: int, height: int, ratio: float | None) -> tuple[int, int, int, int]:
    """The largest box of `ratio` centred in a width x height image (left, top, right, bottom)."""
    if not ratio or width <= 0 or height <= 0:
        return (0, 0, width, height)
    if width / height > ratio:
        box_w, box_h = max(1, round(height * ratio)), height
    else:
        box_w, box_h = width, max(1, round(width / ratio))
    box_w, box_h = min(box_w, width), min(box_h, height)
    left, top = (width - box_w) // 2, (height - box_h) // 2
    return (left, top, left + box_w, top + box_h)
