"""Screen-sized pictures of claimed images, decoded off the UI thread.

A 4096×4096 PNG is never shown at full size: JPEG decodes straight at a
fraction of its size (`Image.draft`), other formats are decoded and then
shrunk by an integer factor (`Image.reduce`), and the result is fitted to
the column. EXIF orientation is applied, and the full oriented size is kept,
because crop boxes live in those pixels. `Prefetcher` runs this, and reads
the `.decision` suggestion, in worker threads while the person works.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from crop_client.multicrop.gui.geometry import fit_view
from crop_client.multicrop.gui.suggestion import Suggestion, suggestion_for
from crop_protocol.messages import ClaimedImage

Image.MAX_IMAGE_PIXELS = None   # people crop very large upscales on purpose

_SWAPPED = (5, 6, 7, 8)         # EXIF orientations that turn the image a quarter
BACKGROUND = (64, 64, 64)       # what shows through transparent pixels


@dataclass
class Preview:
    item: ClaimedImage
    image: Image.Image | None            # RGB, fitted to the canvas it was made for
    full_size: tuple[int, int] | None    # oriented full-resolution size
    suggestion: Suggestion
    error: str | None = None
    saliency: Any = None                 # --suggest saliency: the small saliency map


def oriented_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:   # a damaged EXIF block must not hide the picture
        orientation = 1
    return (height, width) if orientation in _SWAPPED else (width, height)


def load_picture(path: str, canvas: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """The image fitted to a canvas of `canvas` size, and its full oriented size."""
    with Image.open(path) as source:
        full_w, full_h = oriented_size(source)
        view = fit_view(full_w, full_h, *canvas)
        stored_w, stored_h = source.size
        swapped = (full_w, full_h) != (stored_w, stored_h)
        want_w, want_h = (view.shown_h, view.shown_w) if swapped else (view.shown_w, view.shown_h)
        if source.format == "JPEG":
            source.draft("RGB", (want_w, want_h))
        source.load()
        picture: Image.Image = source
        factor = min(picture.width // max(1, want_w), picture.height // max(1, want_h))
        if factor >= 2:
            picture = picture.reduce(factor)
        picture = _orient(source, _to_rgb(picture))
        if picture.size != (view.shown_w, view.shown_h):
            picture = picture.resize((view.shown_w, view.shown_h), Image.Resampling.BILINEAR)
    return picture, (full_w, full_h)


def _orient(source: Image.Image, picture: Image.Image) -> Image.Image:
    """Apply the source's EXIF orientation to an already reduced picture."""
    try:
        orientation = source.getexif().get(0x0112, 1)
    except Exception:   # as in oriented_size: unreadable EXIF means upright
        orientation = 1
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}.get(orientation)
    return picture.transpose(method) if method is not None else picture


def _to_rgb(picture: Image.Image) -> Image.Image:
    if picture.mode == "RGB":
        return picture
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        picture = picture.point(lambda v: v / 256).convert("L")
    if picture.mode == "P":
        picture = picture.convert("RGBA")
    if picture.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = picture.convert("RGBA")
        backdrop = Image.new("RGB", rgba.size, BACKGROUND)
        backdrop.paste(rgba, mask=rgba.getchannel("A"))
        return backdrop
    return ImageOps.grayscale(picture).convert("RGB") if picture.mode == "1" \
        else picture.convert("RGB")


def load_preview(item: ClaimedImage, canvas: tuple[int, int],
                 saliency: bool = False) -> Preview:
    """Never raises: an unreadable image becomes a Preview with an error to show. With
    `saliency`, the saliency map of the decoded picture comes along (suggest.py)."""
    suggestion = suggestion_for(item.path, list(item.companions))
    try:
        picture, full_size = load_picture(item.path, canvas)
    except Exception as error:   # any decoder failure is the image's problem, not ours
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Preview(item, None, None, suggestion, error=reason[:120])
    found = None
    if saliency:
        from crop_client import suggest

        try:
            found = suggest.spectral_map(suggest.small(picture))
        except Exception:   # no engine, or it failed on this picture: no suggestion
            found = None
    return Preview(item, picture, full_size, suggestion, saliency=found)


def load_full(path: str) -> Image.Image | None:
    """The image at full resolution, upright, in RGB: what the loupe shows. None if unreadable."""
    try:
        with Image.open(path) as source:
            source.load()
            return _to_rgb(ImageOps.exif_transpose(source) or source)
    except Exception:   # the loupe is a help, not a must
        return None


class Prefetcher:
    """Decodes previews in worker threads; the UI polls the futures it gets back."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is None:   # a batch of three decodes at once where there are cores for it
            workers = max(2, min(3, os.cpu_count() or 2))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preview")

    def fetch(self, item: ClaimedImage, canvas: tuple[int, int],
              saliency: bool = False) -> Future[Preview]:
        return self._pool.submit(load_preview, item, canvas, saliency)

    def fetch_full(self, path: str) -> Future[Image.Image | None]:
        return self._pool.submit(load_full, path)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
