"""Time and bytes per zlib level (and strategy) for a PNG crop of upscale-like content.

Upscales are smooth (an image enlarged from a smaller one) with fine detail
and a little noise on top, which is what the person's PNGs look like. One
3000×2250 crop (the size of a 4:3 crop of a 4096² image) is saved at every
level 0-9 with Pillow's own strategy (Z_FILTERED), and at levels 1 and 6 with the RLE and
Huffman-only strategies, each the best of `repeat` saves, in this process; then
the same few on flat graphics (gradients and boxes), where strategies differ most.

Run: `python -m bench.png_levels [--size 3000x2250] [--repeat 2]`; prints a table
with seconds, MB, and both as ratios to level 6 (Pillow's default). The product's
default (`imageops.PNG_LEVEL` with `PNG_STRATEGY`) is chosen from this table.
"""

from __future__ import annotations

import argparse
import io
import time
import zlib

import numpy as np
from PIL import Image, ImageDraw

from bench.table import Row


def upscale_like(width: int, height: int, seed: int = 7) -> Image.Image:
    """A smooth picture enlarged 4× from a small one, with mild noise: like an AI upscale."""
    rng = np.random.default_rng(seed)
    small_w, small_h = max(8, width // 4), max(8, height // 4)
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    channels = []
    for c in range(3):
        wave = (np.sin(xx / (17 + 9 * c)) + np.cos(yy / (23 + 5 * c))
                + np.sin((xx + yy) / (41 + c))) * 40 + 128
        detail = rng.normal(0, 14, (small_h, small_w))
        channels.append(np.clip(wave + detail, 0, 255))
    small = Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8), "RGB")
    big = small.resize((width, height), Image.Resampling.LANCZOS)
    noise = rng.normal(0, 1.5, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(big, np.float32) + noise, 0, 255)
                           .astype(np.uint8), "RGB")


# "pillow" is Pillow's own choice when none is given (Z_FILTERED for PNG)
STRATEGIES: dict[str, int | None] = {"pillow": None, "rle": zlib.Z_RLE,
                                     "huffman": zlib.Z_HUFFMAN_ONLY}
Setting = tuple[int, str]      # (level, strategy)


def flat_graphics(width: int, height: int) -> Image.Image:
    picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for i in range(30):
        draw.rectangle((i * width // 33, i * height // 37, i * width // 33 + width // 7,
                        i * height // 37 + height // 7), fill=(i * 8, 255 - i * 8, 128))
    return picture


def _save(picture: Image.Image, setting: Setting, repeat: int) -> tuple[float, int]:
    level, strategy = setting
    best, length = float("inf"), 0
    for _ in range(repeat):
        buffer = io.BytesIO()
        start = time.perf_counter()
        extra = {} if STRATEGIES[strategy] is None else {"compress_type": STRATEGIES[strategy]}
        picture.save(buffer, format="PNG", compress_level=level, **extra)
        best = min(best, time.perf_counter() - start)
        length = buffer.tell()
    return best, length


def table(size: tuple[int, int], repeat: int) -> dict[str, dict[Setting, tuple[float, int]]]:
    settings: list[Setting] = [(level, "pillow") for level in range(10)] + [
        (1, "rle"), (6, "rle"), (1, "huffman")]
    found: dict[str, dict[Setting, tuple[float, int]]] = {"upscale-like": {}, "flat": {}}
    picture = upscale_like(*size)
    for setting in settings:
        found["upscale-like"][setting] = _save(picture, setting, repeat)
    picture = flat_graphics(*size)
    for setting in ((1, "pillow"), (6, "pillow"), (1, "rle"), (1, "huffman")):
        found["flat"][setting] = _save(picture, setting, repeat)
    return found


def render(found: dict[str, dict[Setting, tuple[float, int]]]) -> str:
    lines = ["content       level strategy  seconds      MB  time/L6  bytes/L6"]
    for content, rows in found.items():
        base_t, base_b = rows[(6, "pillow")]
        for (level, strategy), (seconds, length) in rows.items():
            lines.append(f"{content:<13} {level:>5} {strategy:<8} {seconds:8.3f} "
                         f"{length / 1e6:7.2f}  {seconds / base_t:6.2f}×  {length / base_b:6.2f}×")
    return "\n".join(lines)


def measure(_root: object = None, _sizes: object = None) -> list[Row]:
    """The bench's row: the default setting against level 6."""
    from crop_client.imageops import PNG_LEVEL, PNG_STRATEGY

    found = table((3000, 2250), 1)
    name = next(k for k, v in STRATEGIES.items() if v == PNG_STRATEGY)
    chosen = found["upscale-like"][(PNG_LEVEL, name)]
    six = found["upscale-like"][(6, "pillow")]
    return [Row("10", f"PNG save 3000×2250, level {PNG_LEVEL} {name} (default) vs 6",
                ours=f"{chosen[0]:.2f} s, {chosen[1] / 1e6:.1f} MB",
                baseline=f"{six[0]:.2f} s, {six[1] / 1e6:.1f} MB",
                ratio=chosen[0] / six[0], notes=[render(found)])]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.png_levels", description=__doc__)
    parser.add_argument("--size", default="3000x2250")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(f"PNG save of a {width}×{height} upscale-like crop, best of {args.repeat}")
    print(render(table((width, height), args.repeat)))


if __name__ == "__main__":
    main()
