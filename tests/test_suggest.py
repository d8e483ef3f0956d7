"""Content-aware suggestions (suggest.py): the window over a saliency map, exact ratios in
full-resolution pixels, the object found on generated pictures, and the message without
the optional extra."""

from __future__ import annotations

import builtins
import sys

import pytest
from PIL import Image, ImageDraw

from crop_client import suggest

np = pytest.importorskip("numpy")


def test_the_window_holds_the_most_saliency() -> None:
    saliency = np.zeros((100, 200), dtype=np.float32)
    saliency[40:50, 170:180] = 1.0
    x1, y1, x2, y2 = suggest.best_window(saliency, 1.0)
    assert (x2 - x1) * 200 == pytest.approx(100) and y1 == 0 and y2 == 1
    assert x1 * 200 <= 170 and x2 * 200 >= 180


def test_a_flat_picture_gives_the_centred_box() -> None:
    x1, _, x2, _ = suggest.best_window(np.ones((90, 160), dtype=np.float32), 1.0)
    assert x1 * 160 == pytest.approx(35) and x2 * 160 == pytest.approx(125)
    assert suggest.best_window(np.ones((9, 16), dtype=np.float32), None) == (0, 0, 1, 1)


@pytest.mark.parametrize(("size", "ratio"), [((4096, 4096), 1.0), ((4096, 4096), 16 / 9),
                                             ((3000, 2000), 4 / 3), ((1001, 999), 3 / 2)])
def test_pixels_have_the_exact_ratio_and_stay_inside(size, ratio) -> None:
    from crop_client.aspect import center_box

    box = suggest.to_pixels((0.9, 0.9, 1.0, 1.0), *size, ratio)
    largest = center_box(*size, ratio)
    assert (box[2] - box[0], box[3] - box[1]) == (largest[2] - largest[0],
                                                  largest[3] - largest[1])
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= size[0] and box[3] <= size[1]


def test_the_object_on_a_textured_picture_is_inside_the_suggestion() -> None:
    pytest.importorskip("cv2")
    if suggest.problem():
        pytest.skip(suggest.problem())
    rng = np.random.default_rng(5)
    for place in (0.1, 0.5, 0.85):
        noise = rng.normal(128, 20, (384, 683, 3)).clip(0, 255).astype(np.uint8)
        picture = Image.fromarray(noise, "RGB")
        cx, cy, r = int(place * 683), 200, 20
        ImageDraw.Draw(picture).ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 0, 0))
        left, top, right, bottom = suggest.suggest_box(picture, 2049, 1152, 1.0)
        scale = 2049 / 683
        assert left <= (cx - r) * scale and right >= (cx + r) * scale, (place, left, right)
        assert (right - left, bottom - top) == (1152, 1152)


def test_without_opencv_the_problem_is_one_line(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_cv2(name, *args, **kwargs):
        if name == "cv2":
            raise ImportError("No module named 'cv2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "cv2", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_cv2)
    message = suggest.problem()
    assert message is not None and "\n" not in message and "[suggest]" in message
    assert not suggest.available()
