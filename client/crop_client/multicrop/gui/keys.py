"""The keys of the window: SPEC.md's table ("Keys in the window"), as Tk bindings and help text.

Each key names an action the window implements (`CropWindow.act`); the
column keys carry the column (0, 1, 2 for image 1, 2, 3 from the left).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    sequences: tuple[str, ...]     # Tk event sequences
    action: str
    column: int | None = None


def _letter(char: str) -> tuple[str, str]:
    return (f"<KeyPress-{char}>", f"<KeyPress-{char.upper()}>")


KEYS: tuple[Key, ...] = (
    Key(("<Return>", "<KP_Enter>"), "submit"),
    *(Key((f"<KeyPress-{n}>", f"<KP_{n}>"), "delete", n - 1) for n in (1, 2, 3)),
    *(Key(_letter(c), "skip", i) for i, c in enumerate("wer")),
    *(Key(_letter(c), "reset", i) for i, c in enumerate("xcv")),
    Key(("<space>",), "lock"),
    Key(_letter("a"), "aspect"),
    Key(_letter("k"), "keep_all"),
    Key((*_letter("b"), "<Left>", "<Control-z>", "<Control-Z>"), "undo"),
    Key(_letter("n"), "next_dir"),
    Key(_letter("p"), "prev_dir"),
    Key((*_letter("q"), "<Escape>"), "quit"),
    Key(("<question>", "<F1>"), "help"),
    Key(("<KeyPress-s>",), "adopt"),
    Key(("<KeyPress-S>",), "adopt_all"),
    Key(_letter("g"), "jump"),
    Key(("<Tab>",), "edge"),
)

# Ctrl+arrows nudge the active edge by 1 px, with Shift by 10: (sequence, dx, dy).
NUDGES: tuple[tuple[str, int, int], ...] = tuple(
    (f"<Control-{shift}{arrow}>", dx * step, dy * step)
    for shift, step in (("", 1), ("Shift-", 10))
    for arrow, dx, dy in (("Left", -1, 0), ("Right", 1, 0), ("Up", 0, -1), ("Down", 0, 1)))

COLUMN_KEYS: tuple[tuple[str, str, str], ...] = (("1", "w", "x"), ("2", "e", "c"), ("3", "r", "v"))

HELP_ROWS: tuple[tuple[str, str], ...] = (
    ("Enter", "submit the batch (unchanged rectangles keep the image as it is)"),
    ("1  2  3", "mark image 1/2/3 for deletion (press again to unmark)"),
    ("w  e  r", "mark image 1/2/3 as skipped (press again to unmark)"),
    ("x  c  v", "reset the crop of image 1/2/3 to the whole image"),
    ("Space", "lock / unlock the aspect ratio"),
    ("a", "next aspect preset: original, 1:1, 4:3, 3:2, 16:9, free"),
    ("k", "keep the whole batch as it is and submit"),
    ("b  ←  Ctrl+Z", "undo the last submitted batch and show it again"),
    ("n / p", "next / previous directory (several directories)"),
    ("q  Esc", "quit (with unsubmitted changes, the first press warns)"),
    ("?", "show the keys"),
    ("s  /  S", "adopt the suggestion (dashed) for the image under the pointer / the batch"),
    ("Ctrl+arrows", "nudge the active edge by 1 px (with Shift: 10 px)"),
    ("Tab", "choose the edge the nudges move: right, bottom, left, top"),
    ("g", "go to image N or to a name"),
    ("", ""),
    ("mouse", "drag on an image to draw a new rectangle"),
    ("", "drag a handle to resize; drag the centre handle"),
    ("", "or drag with the right button to move it"),
    ("", "the loupe shows the pixels under the pointer at 2:1"),
    ("", "with Shift held, a drag snaps to the nearest --fit bucket's ratio"),
)


def help_text() -> str:
    width = max(len(k) for k, _ in HELP_ROWS)
    return "\n".join(f"{k.ljust(width)}   {v}" if k or v else "" for k, v in HELP_ROWS)
