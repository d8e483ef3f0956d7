"""Time and bytes per zlib level for a PNG crop of upscale-like content.

Upscales are smooth (an image enlarged from a smaller one) with fine detail
and a little noise on top, which is what the person's PNGs look like. One
3000×2250 crop (the size of a 4:3 crop of a 4096² image) is saved at every
level 0-9, each the best of `repeat` saves, in this process.

Run: `python -m bench.png_levels [--size 3000x2250] [--repeat 2]`; prints a table
with seconds, MB, and both as ratios to level 6 (Pillow's default). The product's
default (`imageops.PNG_LEVEL`) is the level chosen from this table.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

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


def table(size: tuple[int, int], repeat: int) -> list[tuple[int, float, int]]:
    picture = upscale_like(*size)
    rows = []
    for level in range(10):
        best, length = float("inf"), 0
        for _ in range(repeat):
            buffer = io.BytesIO()
            start = time.perf_counter()
            picture.save(buffer, format="PNG", compress_level=level)
            best = min(best, time.perf_counter() - start)
            length = buffer.tell()
        rows.append((level, best, length))
    return rows


def render(rows: list[tuple[int, float, int]]) -> str:
    base_t, base_b = next((t, b) for lvl, t, b in rows if lvl == 6)
    lines = ["level  seconds     MB   time/L6  bytes/L6"]
    for level, seconds, length in rows:
        lines.append(f"{level:>5}  {seconds:7.3f}  {length / 1e6:5.1f}   {seconds / base_t:6.2f}×"
                     f"   {length / base_b:6.2f}×")
    return "\n".join(lines)


def measure(_root: object = None, _sizes: object = None) -> list[Row]:
    """The bench's rows: the chosen level against level 6."""
    from crop_client.imageops import PNG_LEVEL

    rows = table((3000, 2250), 1)
    chosen = next(r for r in rows if r[0] == PNG_LEVEL)
    six = next(r for r in rows if r[0] == 6)
    return [Row("9a", f"PNG save 3000×2250, level {PNG_LEVEL} (default) vs 6",
                ours=f"{chosen[1]:.2f} s, {chosen[2] / 1e6:.1f} MB",
                baseline=f"{six[1]:.2f} s, {six[2] / 1e6:.1f} MB",
                ratio=chosen[1] / six[1], notes=[render(rows)])]


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
