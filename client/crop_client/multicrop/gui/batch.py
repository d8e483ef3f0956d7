"""The batch on screen, without Tk: per image its rectangle, its mark, and what submit does.

A `Slot` is one claimed image in one column. Its rectangle starts as the
whole image, the largest centred box of the aspect, or a `.decision`
suggestion (shown as a suggestion until touched). The rectangle the person
drew is kept apart (`drawn`): a new aspect preset re-fits that one, never the
last fitted box, so cycling the presets gives it back. A computed suggestion
(`--suggest saliency`) is offered beside the rectangle until adopted.
Submitting turns each slot into an action: `delete` or `skip` when marked,
`keep` when the rectangle is the whole image (copied, never re-encoded), else
`crop` with the box, rounded to whole pixels of exactly the locked aspect. An
undone batch comes back as it was submitted: same marks, same rectangles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import msgspec

from crop_client.aspect import Aspect
from crop_client.multicrop.gui.geometry import Box, centre_box, fit_ratio, suggestion_box
from crop_client.multicrop.gui.preview import Preview
from crop_protocol.messages import ClaimedImage, UndoneItem

Mark = Literal["delete", "skip"] | None


@dataclass
class AspectState:
    """The aspect preset (`a`) and whether the rectangle is held to it (`Space`)."""

    aspect: Aspect
    locked: bool = True

    def ratio(self, full_w: int, full_h: int) -> float | None:
        return self.aspect.for_image(full_w, full_h) if self.locked else None

    def exact(self, full_w: int, full_h: int) -> Fraction | None:
        return self.aspect.exact(full_w, full_h) if self.locked else None

    def describe(self) -> str:
        if self.aspect.name == "free":
            return "free"
        return f"{self.aspect.name} ({'locked' if self.locked else 'unlocked'})"


@dataclass
class Slot:
    item: ClaimedImage
    preview: Preview | None = None
    box: Box | None = None
    suggested: bool = False       # the box is a suggestion nobody touched yet
    touched: bool = False         # the person moved, drew, reset or re-aspected the box
    mark: Mark = None
    drawn: Box | None = None      # what the person last drew or reset (presets re-fit it)
    origin: Box | None = None     # the `.decision` suggestion the box started at

    @property
    def full_size(self) -> tuple[int, int] | None:
        return self.preview.full_size if self.preview else None

    @property
    def readable(self) -> bool:
        return self.full_size is not None

    def start(self, preview: Preview, aspect: AspectState) -> None:
        """Fill the slot once its preview is decoded: the starting rectangle."""
        self.preview = preview
        if preview.full_size is None:
            return
        full_w, full_h = preview.full_size
        coords = preview.suggestion.coords
        suggested = suggestion_box(coords, full_w, full_h) if coords else None
        if self.box is not None:              # set before decoding (an undone batch)
            return
        if suggested is not None:
            self.box, self.suggested, self.origin = suggested, True, suggested
        else:
            self.box = centre_box(full_w, full_h, aspect.ratio(full_w, full_h))

    def set_box(self, box: Box) -> None:
        """The person drew, moved, resized, nudged or reset the rectangle."""
        self.box, self.touched, self.suggested, self.drawn = box, True, False, box

    def computed(self, aspect: AspectState) -> Box | None:
        """The content-aware suggestion (`--suggest saliency`) for the aspect, or None."""
        preview = self.preview
        if preview is None or preview.saliency is None or self.full_size is None:
            return None
        if preview.suggestion.coords is not None:   # a `.decision` suggestion wins
            return None
        from crop_client import suggest

        full_w, full_h = self.full_size
        ratio = aspect.ratio(full_w, full_h)
        fractions = suggest.best_window(preview.saliency, ratio)
        return Box.of(suggest.to_pixels(fractions, full_w, full_h, ratio))

    def adopt(self, aspect: AspectState) -> bool:
        """Take the computed suggestion as the rectangle; False when there is none."""
        box = self.computed(aspect)
        if box is None:
            return False
        self.box, self.touched, self.suggested, self.drawn, self.origin = \
            box, True, True, None, box
        return True

    def reset(self) -> None:
        """`x c v`: back to the whole image."""
        if self.full_size:
            self.set_box(Box.full(*self.full_size))

    def reaspect(self, aspect: AspectState) -> None:
        """A new preset or lock: untouched boxes restart centred, touched ones shrink to fit."""
        if not self.full_size or self.box is None:
            return
        full_w, full_h = self.full_size
        ratio = aspect.ratio(full_w, full_h)
        source = self.drawn if self.drawn is not None else self.origin
        if source is not None:
            self.box = fit_ratio(source, ratio, full_w, full_h)
        else:
            self.box = centre_box(full_w, full_h, ratio)

    def toggle(self, mark: Literal["delete", "skip"]) -> None:
        self.mark = None if self.mark == mark else mark

    def action(self, aspect: AspectState | None = None
               ) -> tuple[str, tuple[int, int, int, int] | None]:
        """What submit does with this image: (action, box in full-resolution pixels),
        of exactly the aspect when it is locked."""
        if self.mark is not None:
            return (self.mark, None)
        if not self.readable or self.box is None or self.full_size is None:
            return ("crop", None)     # the file work finds it unreadable and reports `failed`
        full_w, full_h = self.full_size
        if self.box.is_full(full_w, full_h):
            return ("keep", None)
        exact = aspect.exact(full_w, full_h) if aspect is not None else None
        box = self.box.pixels(full_w, full_h, exact)
        if box == (0, 0, full_w, full_h):
            return ("keep", None)
        return ("crop", box)

    def changed(self) -> bool:
        return self.mark is not None or self.touched


@dataclass
class Batch:
    slots: list[Slot]
    serial: int = 0
    undone: bool = False            # shown again by an undo
    logged_ready: bool = False      # its pictures decoded (told to the timing log once)
    decoding: bool = False          # its pictures were handed to the prefetcher
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, items: list[ClaimedImage], serial: int = 0) -> Batch:
        return cls([Slot(item) for item in items], serial)

    @property
    def files(self) -> list[str]:
        return [slot.item.file for slot in self.slots]

    def slot(self, column: int) -> Slot | None:
        return self.slots[column] if 0 <= column < len(self.slots) else None

    def ready(self) -> bool:
        return all(slot.preview is not None for slot in self.slots)

    def changed(self) -> bool:
        return any(slot.changed() for slot in self.slots)

    def actions(self, keep_all: bool = False, aspect: AspectState | None = None
                ) -> list[tuple[ClaimedImage, str, tuple[int, int, int, int] | None]]:
        if keep_all:   # an unreadable image is still offered to the file work, to fail
            return [(slot.item, "keep" if slot.readable else "crop", None)
                    for slot in self.slots]
        return [(slot.item, *slot.action(aspect)) for slot in self.slots]


def batch_from_undone(folder: str, items: list[UndoneItem], history: list[Batch],
                      aspect: AspectState, serial: int) -> Batch:
    """The batch an undo gives back, as it was submitted: its pictures (no decoding when
    they are still in `history`), marks and rectangles."""
    earlier = {slot.item.file: slot for batch in reversed(history) for slot in batch.slots}
    places = {slot.item.file: (batch.serial, index) for batch in history
              for index, slot in enumerate(batch.slots)}
    # the images of a batch are saved at once, so their reports (the undo's order) may be
    # in any order: show them in the columns they were submitted from
    items = sorted(items, key=lambda i: places.get(i.file, (1 << 62, 0)))
    slots: list[Slot] = []
    for item in items:
        old = earlier.get(item.file)
        claimed = ClaimedImage(
            file=item.file, path=folder.rstrip("/") + "/" + item.file, position=0,
            companions=list(item.companions)) if old is None else msgspec.structs.replace(
            old.item)
        claimed.token = item.token  # the undo leased it again, under a new token
        slot = Slot(claimed, preview=old.preview if old is not None else None)
        slot.mark = ("delete" if item.outcome == "deleted"
                     else "skip" if item.outcome == "skipped" else None)
        if item.box:
            slot.box, slot.touched = Box.of(item.box), True
            slot.drawn = old.drawn if old is not None and old.drawn is not None else slot.box
        elif old is not None:
            slot.box, slot.touched, slot.suggested = old.box, old.touched, old.suggested
            slot.drawn, slot.origin = old.drawn, old.origin
        if slot.preview is not None and slot.box is None:
            slot.start(slot.preview, aspect)
        slots.append(slot)
    return Batch(slots, serial, undone=True)
