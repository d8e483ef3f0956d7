"""Suggestion engines, time and quality, on generated images (no data set, no model).

Quality: `count` images (2048×1152) of upscale-like texture with one salient
object (a disc of a colour of its own, 6-12 % of the height) at a random place;
the suggestion is a 1:1 crop (1152² of 2048 wide, so where it sits matters);
a hit is the object's whole box inside the crop. Baseline: the centred crop.

Time per 4096² PNG: (a) the window's path, the engine on the picture the
window decoded anyway (a column-sized preview), (b) from the file: open,
reduce, suggest; each the median of `repeat` runs, in this process.

Run: `python -m bench.suggest_bench [--count 100] [--engines spectral,smartcrop]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.png_levels import upscale_like
from bench.table import Row
from crop_client import suggest
from crop_client.aspect import center_box

SIZE = (2048, 1152)


def scene(rng: np.random.Generator, size: tuple[int, int] = SIZE
          ) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A textured picture with one object; the object's box."""
    width, height = size
    picture = upscale_like(width, height, seed=int(rng.integers(1 << 30)))
    radius = int(rng.uniform(0.03, 0.06) * height)
    cx = int(rng.uniform(radius, width - radius))
    cy = int(rng.uniform(radius, height - radius))
    colour = tuple(int(v) for v in rng.choice([0, 255], 3)) if rng.random() < 0.5 else \
        (255, int(rng.integers(0, 80)), int(rng.integers(0, 80)))
    ImageDraw.Draw(picture).ellipse((cx - radius, cy - radius, cx + radius, cy + radius),
                                    fill=colour)
    return picture, (cx - radius, cy - radius, cx + radius, cy + radius)


def inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2]
            and inner[3] <= outer[3])


def quality(engine: str, count: int, seed: int = 11) -> tuple[float, float]:
    """(share of hits for the engine, share for the centred crop)."""
    rng = np.random.default_rng(seed)
    hits = centred = 0
    for _ in range(count):
        picture, target = scene(rng)
        preview = picture.reduce(3)            # about what the window decodes for a column
        box = suggest.suggest_box(preview, *SIZE, 1.0, engine=engine)
        hits += inside(target, box)
        centred += inside(target, center_box(*SIZE, 1.0))
    return hits / count, centred / count


def timing(engine: str, repeat: int) -> tuple[float, float]:
    """(median s on a column preview, median s from a 4096² PNG file)."""
    rng = np.random.default_rng(3)
    picture, _ = scene(rng, (4096, 4096))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.png"
        picture.save(path, compress_level=1)
        preview = picture.reduce(6)
        on_preview, from_file = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            suggest.suggest_box(preview, 4096, 4096, 16 / 9, engine=engine)
            on_preview.append(time.perf_counter() - start)
            start = time.perf_counter()
            with Image.open(path) as source:
                source.load()
                small = source.reduce(8)
            suggest.suggest_box(small, 4096, 4096, 16 / 9, engine=engine)
            from_file.append(time.perf_counter() - start)
    return statistics.median(on_preview), statistics.median(from_file)


def measure(_root: object = None, _sizes: object = None) -> list[Row]:
    rows = []
    hit, centred = quality(suggest.DEFAULT_ENGINE, 100)
    rows.append(Row("11a", f"suggestion holds the object ({suggest.DEFAULT_ENGINE}, 100 images)",
                    ours=f"{hit:.0%}", baseline=f"{centred:.0%} (centred crop)",
                    goal="≥ 95 %", met=hit >= 0.95))
    on_preview, from_file = timing(suggest.DEFAULT_ENGINE, 5)
    rows.append(Row("11b", "suggestion time per 4096² image (on the preview)",
                    ours=f"{on_preview * 1000:.0f} ms",
                    baseline=f"{from_file * 1000:.0f} ms (decoded from the file)",
                    goal="≤ 0.3 s", met=on_preview <= 0.3))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.suggest_bench", description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engines", default="spectral,smartcrop")
    args = parser.parse_args()
    print("engine      hits   centred  s/preview  s/from-file(4096² PNG)")
    for engine in args.engines.split(","):
        hit, centred = quality(engine, args.count)
        on_preview, from_file = timing(engine, args.repeat)
        print(f"{engine:<10} {hit:5.0%}   {centred:5.0%}    {on_preview:7.3f}    {from_file:7.3f}")


if __name__ == "__main__":
    main()
