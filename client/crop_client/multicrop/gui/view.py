"""What the window draws, without Tk: the render model (`View`, `ColumnView`) that
`Flow.view()` fills, and the texts in it: a rectangle's live numbers, a column's caption,
and status text made safe for Tk's fonts on X11."""

from __future__ import annotations

from dataclasses import dataclass

from crop_client import shaping
from crop_client.multicrop.gui.batch import AspectState, Slot
from crop_client.multicrop.gui.geometry import Box

# --- the render model ------------------------------------------------------------------


@dataclass
class ColumnView:
    slot: Slot | None
    text: str                      # what an empty or loading column says
    caption: str                   # size, file size, what submit does / the live box
    suggestion: Box | None         # the computed suggestion, drawn dashed
    active: bool


@dataclass
class View:
    phase: str
    title: str
    heading: str
    aspect: str
    lock_text: str
    lock_enabled: bool
    progress: list[str]
    messages: list[str]
    alert: str
    done_text: str
    saving: int
    enabled: dict[str, bool]
    columns: list[ColumnView]
    help: bool
    jump: bool


# --- text on screen -----------------------------------------------------------------------

# the emoji of the seed's messages that sit in the BMP (⏰ U+23F0, ✅ U+2705, ✂ U+2702, ⏭ ...)
# and their joiners; arrows, blocks (the progress bar) and shapes draw fine
_NO_GLYPH = ((0x2300, 0x23FF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE00, 0xFE0F),
             (0x200D, 0x200D))


def screen_text(text: str, x11: bool = True) -> str:
    """Tk 8.6 on X11 draws emoji (beyond the BMP, and the BMP's symbol blocks: ⏰ ✅) as
    empty boxes: leave them out on screen there; the terminal still prints them."""
    if not x11:
        return text
    kept = "".join(ch for ch in text if ord(ch) <= 0xFFFF and not any(
        low <= ord(ch) <= high for low, high in _NO_GLYPH))
    return " ".join(kept.split(" ")).replace("  ", " ").strip()


def box_text(box: Box, full: tuple[int, int], aspect: AspectState,
             shape: shaping.Shape | None) -> str:
    """The live numbers of a rectangle: `x 12 y 40 · crop 2300 × 2300 → out 1024 × 1024`."""
    left, top, right, bottom = box.pixels(*full, aspect.exact(*full))
    return f"x {left} y {top} · " + shaping.describe(shape, right - left, bottom - top)



def caption(slot: Slot, aspect: AspectState, shape: shaping.Shape | None,
            box: Box | None = None) -> str:
    """What the column says under the image: size, and what submit does (live while a
    rectangle is dragged, when `box` is given)."""
    if slot.mark == "delete":
        state = "will be DELETED (to the trash)"
    elif slot.mark == "skip":
        state = "will be SKIPPED (decide later)"
    elif slot.preview is None:
        state = "loading…"
    elif slot.full_size is None:
        state = "unreadable: reported as failed"
    else:
        shown_box = box if box is not None else slot.box
        action, _ = slot.action(aspect) if box is None else ("crop", None)
        if action == "keep" and shape is None:
            state = "keep whole image"
        elif shown_box is None:
            state = ""
        else:
            state = box_text(shown_box, slot.full_size, aspect, shape)
            if action == "keep":
                state = "whole image, shaped · " + state
            elif slot.suggested:
                state = "suggested " + state
    parts = []
    if slot.full_size:
        parts.append(f"{slot.full_size[0]} × {slot.full_size[1]} px")
    if slot.item.size:
        parts.append(_size(slot.item.size))
    return "  ·  ".join(parts) + "\n" + state   # two lines: a narrow column cuts none



def _size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""
