"""Content-aware crop suggestions (`--suggest saliency`, `--auto suggest`), no model, no GPU.

A saliency map of a small copy of the image says what stands out; the
suggestion is the largest box of the wanted aspect, slid over the image to
hold the most saliency (a summed-area table makes every position one lookup).
The map comes from OpenCV's spectral-residual saliency (Hou & Zhang 2007,
`opencv-contrib-python-headless`, the optional extra `suggest`): chosen over
the `smartcrop` scorer by bench/suggest_bench.py (time and quality on images
with one salient object at a random place; see README). `smartcrop` stays
selectable as `ENGINES["smartcrop"]` for that comparison.

`available()` says whether the engine can run; without it `problem()` is the
one-line message to show. Everything here takes and returns plain values, so it
runs in any worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image

Box = tuple[int, int, int, int]
WORK_SIDE = 256             # the saliency map is made at most this big
MISSING = ("saliency suggestions need the optional extra: "
           "pip install 'crop-progress[suggest]' (OpenCV contrib); going on without them")


def _cv2() -> Any:
    import cv2

    if not hasattr(cv2, "saliency"):
        raise ImportError("cv2 without the contrib saliency module")
    return cv2


def problem() -> str | None:
    """None when the default engine can run, else the one-line reason."""
    try:
        _cv2()
        import numpy  # noqa: F401
    except ImportError:
        return MISSING
    return None


def available() -> bool:
    return problem() is None


def small(picture: Image.Image) -> Image.Image:
    picture = picture.convert("RGB")
    scale = WORK_SIDE / max(picture.size)
    if scale < 1:
        picture = picture.resize((max(1, round(picture.width * scale)),
                                  max(1, round(picture.height * scale))),
                                 Image.Resampling.BILINEAR)
    return picture


def spectral_map(picture: Image.Image) -> Any:
    """Spectral-residual saliency of `picture` (OpenCV), per colour channel and summed, so an
    object that differs only in hue still stands out; blurred and squared so one object
    outweighs scattered texture (bench/suggest_bench.py: 88 % on grey alone, 100 % so)."""
    import numpy as np

    cv2 = _cv2()
    array = np.asarray(picture.convert("RGB"))
    engine = cv2.saliency.StaticSaliencySpectralResidual_create()
    total = np.zeros(array.shape[:2], dtype=np.float32)
    for channel in range(3):
        ok, found = engine.computeSaliency(np.ascontiguousarray(array[:, :, channel]))
        if not ok:
            raise RuntimeError("OpenCV saliency failed")
        total += np.asarray(found, dtype=np.float32)
    blurred = cv2.GaussianBlur(total, (0, 0), 3)
    return blurred * blurred


def best_window(saliency: Any, ratio: float | None) -> tuple[float, float, float, float]:
    """The largest window of `ratio` (None: the whole map) holding the most saliency,
    as fractions (x1, y1, x2, y2) of the map."""
    import numpy as np

    h, w = saliency.shape
    if not ratio:
        return (0.0, 0.0, 1.0, 1.0)
    if w / h > ratio:
        win_w, win_h = max(1, min(w, round(h * ratio))), h
    else:
        win_w, win_h = w, max(1, min(h, round(w / ratio)))
    table = np.zeros((h + 1, w + 1), dtype=np.float64)
    table[1:, 1:] = saliency.astype(np.float64).cumsum(0).cumsum(1)
    sums = (table[win_h:, win_w:] - table[:-win_h, win_w:] - table[win_h:, :-win_w]
            + table[:-win_h, :-win_w])
    # among equal sums, the most central position (so a flat image gives the centred box)
    ys, xs = np.mgrid[0:sums.shape[0], 0:sums.shape[1]]
    centre = (np.abs(xs - (sums.shape[1] - 1) / 2) + np.abs(ys - (sums.shape[0] - 1) / 2))
    score = sums - 1e-9 * (float(sums.max()) + 1) * centre
    top, left = np.unravel_index(int(np.argmax(score)), score.shape)
    return (left / w, top / h, (left + win_w) / w, (top + win_h) / h)


def _spectral(picture: Image.Image, ratio: float | None) -> tuple[float, float, float, float]:
    return best_window(spectral_map(small(picture)), ratio)


def _smartcrop(picture: Image.Image, ratio: float | None) -> tuple[float, float, float, float]:
    import smartcrop

    picture_small = small(picture)
    if not ratio:
        return (0.0, 0.0, 1.0, 1.0)
    w, h = picture_small.size
    win_w, win_h = (round(h * ratio), h) if w / h > ratio else (w, round(w / ratio))
    found = smartcrop.SmartCrop().crop(picture_small, max(1, win_w), max(1, win_h))["top_crop"]
    x, y = found["x"], found["y"]
    return (x / w, y / h, (x + found["width"]) / w, (y + found["height"]) / h)


ENGINES: dict[str, Callable[[Image.Image, float | None], tuple[float, float, float, float]]] = {
    "spectral": _spectral,
    "smartcrop": _smartcrop,
}
DEFAULT_ENGINE = "spectral"


def suggest_fractions(picture: Image.Image, ratio: float | None,
                      engine: str = DEFAULT_ENGINE) -> tuple[float, float, float, float]:
    """Normalised (x1, y1, x2, y2) of the suggested crop of `picture` (any size: it is
    shrunk first), of `ratio` (width/height of the crop; None: the whole image)."""
    return ENGINES[engine](picture, ratio)


def to_pixels(fractions: tuple[float, float, float, float], full_w: int, full_h: int,
              ratio: float | None) -> Box:
    """Fractions of the image to a full-resolution box of exactly `ratio` (rounded once)."""
    from crop_client.aspect import center_box

    x1, y1, x2, y2 = fractions
    if not ratio:
        return (0, 0, full_w, full_h)
    left0, top0, right0, bottom0 = center_box(full_w, full_h, ratio)
    box_w, box_h = right0 - left0, bottom0 - top0
    cx, cy = (x1 + x2) / 2 * full_w, (y1 + y2) / 2 * full_h
    left = min(max(0, round(cx - box_w / 2)), full_w - box_w)
    top = min(max(0, round(cy - box_h / 2)), full_h - box_h)
    return (left, top, left + box_w, top + box_h)


def suggest_box(picture: Image.Image, full_w: int, full_h: int, ratio: float | None,
                engine: str = DEFAULT_ENGINE) -> Box:
    """The suggested crop in full-resolution pixels of an image whose (possibly reduced)
    picture is `picture` and whose full size is full_w × full_h."""
    return to_pixels(suggest_fractions(picture, ratio, engine), full_w, full_h, ratio)
