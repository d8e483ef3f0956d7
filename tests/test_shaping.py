"""Output shapes: parsing the flags, buckets, and what a crop becomes (shaping.py), and the
shaped PNG written by imageops.crop_image at the chosen zlib level."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from crop_client import imageops, shaping
from crop_client.shaping import Shape, ShapeError


def test_flags_become_one_stored_shape_and_back() -> None:
    for shape, text in ((shaping.from_options("bucket:1024:64", None, None, False),
                         "bucket:1024:64"),
                        (shaping.from_options("bucket:768", None, None, True),
                         "bucket:768:64+upscale"),
                        (shaping.from_options(None, 2048, None, False), "max-side:2048"),
                        (shaping.from_options(None, None, "1024x768", False), "exact:1024x768")):
        assert shape is not None and shape.text() == text
        assert shaping.parse(text) == shape
    assert shaping.from_options(None, None, None, False) is None


@pytest.mark.parametrize(("fit", "max_side", "exact", "upscale", "says"), [
    ("bucket", None, None, False, "bucket:AREA"),
    ("bucket:abc", None, None, False, "whole number"),
    ("bucket:1024:0", None, None, False, "positive"),
    ("bucket:64:128", None, None, False, "must not exceed"),
    ("box:1024", None, None, False, "bucket:AREA"),
    (None, 0, None, False, "positive"),
    (None, None, "1024", False, "WxH"),
    (None, None, "10x-4", False, "positive"),
    ("bucket:1024", 512, None, False, "cannot be used together"),
    (None, None, None, True, "--upscale needs a shape"),
])
def test_bad_shapes_say_why_in_one_line(fit, max_side, exact, upscale, says) -> None:
    with pytest.raises(ShapeError) as caught:
        shaping.from_options(fit, max_side, exact, upscale)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_buckets_are_multiples_of_the_step_within_the_area() -> None:
    found = shaping.buckets(1024, 64)
    assert (1024, 1024) in found and (1216, 832) in found and (832, 1216) in found
    assert all(w % 64 == 0 and h % 64 == 0 and w * h <= 1024 * 1024 for w, h in found)


def test_a_crop_goes_to_the_nearest_bucket_trimming_the_least() -> None:
    shape = Shape("bucket", 1024, 64)
    chosen = shaping.plan(shape, 3000, 2000)          # 1.5
    assert chosen.out == (1216, 832)                  # 1.4615..., the nearest ratio
    left, top, right, bottom = chosen.trim
    assert top == 0 and bottom == 2000                # trimmed on the long side only
    assert abs((right - left) / (bottom - top) - 1216 / 832) < 1e-9
    assert shaping.plan(shape, 2000, 2000).out == (1024, 1024)


def test_without_upscale_a_small_crop_keeps_its_size() -> None:
    assert shaping.plan(Shape("bucket", 1024, 64), 500, 400).out == (500, 400)
    exact = shaping.plan(Shape("exact", 1024, 1024), 800, 900)
    assert exact.out == (800, 900) and exact.warning and "--upscale" in exact.warning
    assert shaping.plan(Shape("max-side", 2048), 1000, 500).out == (1000, 500)
    assert shaping.plan(Shape("max-side", 2048, upscale=True), 1000, 500).out == (2048, 1024)
    assert shaping.plan(Shape("exact", 1024, 1024, upscale=True), 800, 900).out == (1024, 1024)


def test_max_side_caps_the_longer_side() -> None:
    assert shaping.plan(Shape("max-side", 1000), 4000, 3000).out == (1000, 750)
    assert shaping.plan(Shape("max-side", 1000), 3000, 4000).out == (750, 1000)


def test_the_caption_tells_the_output_size() -> None:
    assert shaping.describe(None, 3000, 2000) == "crop 3000 × 2000"
    assert shaping.describe(Shape("bucket", 1024, 64), 3000, 2000) == \
        "crop 3000 × 2000 → out 1216 × 832"


def _zlib_level(path: Path) -> int:
    """The FLEVEL bits of the first IDAT's zlib header (0 fastest .. 3 best)."""
    data = path.read_bytes()
    at = data.index(b"IDAT") + 4
    return data[at + 1] >> 6


def test_a_shaped_crop_is_written_at_its_size_and_png_level(tmp_path: Path) -> None:
    src = tmp_path / "big.png"
    Image.radial_gradient("L").resize((1200, 900)).convert("RGB").save(src)
    out = imageops.crop_image(src, tmp_path / "out.png", (0, 0, 1200, 800),
                              shape=Shape("bucket", 512, 64))
    assert out == Image.open(tmp_path / "out.png").size == shaping.nearest_bucket(512, 64, 1.5)
    assert _zlib_level(tmp_path / "out.png") == 0        # level 1: zlib's fastest class
    imageops.crop_image(src, tmp_path / "nine.png", (0, 0, 600, 600), png_level=9)
    assert _zlib_level(tmp_path / "nine.png") == 3
    with pytest.raises(ValueError, match="0-9"):
        imageops.crop_image(src, tmp_path / "bad.png", (0, 0, 10, 10), png_level=12)
    assert not (tmp_path / "bad.png").exists()


def test_a_shaped_16_bit_and_palette_crop_keep_their_mode(tmp_path: Path) -> None:
    deep = tmp_path / "deep.png"
    Image.linear_gradient("L").resize((400, 400)).convert("I").point(lambda v: v * 200) \
        .convert("I;16").save(deep)
    imageops.crop_image(deep, tmp_path / "deep_out.png", (0, 0, 400, 400),
                        shape=Shape("max-side", 100))
    result = Image.open(tmp_path / "deep_out.png")
    assert result.size == (100, 100) and result.mode.startswith("I")
    palette = tmp_path / "pal.png"
    Image.linear_gradient("L").resize((300, 200)).convert("P").save(palette)
    imageops.crop_image(palette, tmp_path / "pal_out.png", (0, 0, 300, 200),
                        shape=Shape("max-side", 150))
    assert Image.open(tmp_path / "pal_out.png").size == (150, 100)
