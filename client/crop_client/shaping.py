"""Output shapes for training sets (`--fit bucket:AREA[:STEP]`, `--max-side N`, `--exact WxH`)
and the PNG level.

A shape is written as one line of text, the form stored per directory in the
progress file (`output_shape`): `bucket:1024:64`, `max-side:2048`,
`exact:1024x768`, each optionally followed by `+upscale`. `plan(shape, w, h)`
says what a crop of w×h becomes: the output size, the part of the crop kept
(a centred trim to the output's ratio, the least that reaches it) and, when a
crop is smaller than the shape and upscaling was not asked for, a warning.
Buckets follow kohya's bucketing: sides multiples of STEP, area at most AREA²,
the bucket nearest the crop's ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_STEP = 64
# How PNGs are written when `--png-level` is not given, chosen from bench/png_levels.py's
# table: zlib level 1 with the RLE strategy (Z_RLE = 3) saves a 3000×2250 upscale-like crop
# in 0.19-0.41× the time of Pillow's level 6 (runs vary with the machine's load) for 1.00× its
# bytes, where Pillow's level 1 takes 0.34× for 1.16×; on flat graphics RLE stays at 0.92× of
# level 6's bytes (Huffman-only, as fast on upscales, writes 90× there). An explicit
# `--png-level N` is zlib's level N with Pillow's own strategy. Here so the CLI can say it
# without importing Pillow.
PNG_LEVEL = 1
PNG_STRATEGY = 3
UPSCALE = "+upscale"


class ShapeError(ValueError):
    """A shape that cannot be parsed; the text is a one-line reason."""


@dataclass(frozen=True)
class Shape:
    kind: str               # "bucket", "max-side", "exact"
    a: int                  # bucket: AREA; max-side: N; exact: W
    b: int = 0              # bucket: STEP; exact: H
    upscale: bool = False

    def text(self) -> str:
        body = {"bucket": f"bucket:{self.a}:{self.b}", "max-side": f"max-side:{self.a}",
                "exact": f"exact:{self.a}x{self.b}"}[self.kind]
        return body + (UPSCALE if self.upscale else "")


@dataclass(frozen=True)
class Plan:
    out: tuple[int, int]                          # output width, height
    trim: tuple[float, float, float, float]       # kept part of the crop, crop pixels
    resized: bool                                 # out differs from the trimmed size
    warning: str | None = None

    @property
    def unchanged(self) -> bool:
        return not self.resized and self.trim[2] - self.trim[0] == self.out[0] \
            and self.trim[3] - self.trim[1] == self.out[1]


def _positive(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ShapeError(f"{what} must be a whole number, not {text!r}") from None
    if value <= 0:
        raise ShapeError(f"{what} must be positive, not {value}")
    if value > 65535:
        raise ShapeError(f"{what} must be at most 65535, not {value}")
    return value


def parse_fit(text: str) -> tuple[int, int]:
    """`bucket:AREA[:STEP]` → (AREA, STEP)."""
    parts = text.strip().lower().split(":")
    if parts[0] != "bucket" or len(parts) not in (2, 3):
        raise ShapeError(f"--fit takes bucket:AREA[:STEP] such as bucket:1024:64, not {text!r}")
    area = _positive(parts[1], "the bucket AREA")
    step = _positive(parts[2], "the bucket STEP") if len(parts) == 3 else DEFAULT_STEP
    if step > area:
        raise ShapeError(f"the bucket STEP ({step}) must not exceed AREA ({area})")
    return area, step


def parse_exact(text: str) -> tuple[int, int]:
    parts = text.strip().lower().split("x")
    if len(parts) != 2:
        raise ShapeError(f"--exact takes WxH such as 1024x1024, not {text!r}")
    return _positive(parts[0], "the --exact width"), _positive(parts[1], "the --exact height")


def from_options(fit: str | None, max_side: int | None, exact: str | None,
                 upscale: bool) -> Shape | None:
    """The shape the command line asks for; None without one. ShapeError on bad input."""
    given = [name for name, value in (("--fit", fit), ("--max-side", max_side),
                                      ("--exact", exact)) if value is not None]
    if len(given) > 1:
        raise ShapeError(f"{' and '.join(given)} cannot be used together: choose one shape")
    if fit is not None:
        return Shape("bucket", *parse_fit(fit), upscale=upscale)
    if max_side is not None:
        return Shape("max-side", _positive(str(max_side), "--max-side"), upscale=upscale)
    if exact is not None:
        return Shape("exact", *parse_exact(exact), upscale=upscale)
    if upscale:
        raise ShapeError("--upscale needs a shape: --fit, --max-side or --exact")
    return None


def parse(text: str) -> Shape:
    """The stored form (`Shape.text()`) back to a Shape."""
    body, upscale = (text[: -len(UPSCALE)], True) if text.endswith(UPSCALE) else (text, False)
    kind, _, rest = body.partition(":")
    if kind == "bucket":
        return Shape("bucket", *parse_fit(body), upscale=upscale)
    if kind == "max-side":
        return Shape("max-side", _positive(rest, "max-side"), upscale=upscale)
    if kind == "exact":
        return Shape("exact", *parse_exact(rest), upscale=upscale)
    raise ShapeError(f"unknown output shape {text!r}")


# --- planning ---------------------------------------------------------------------------

def buckets(area: int, step: int) -> list[tuple[int, int]]:
    """Every bucket: sides multiples of `step`, area at most area², as large as it can be."""
    limit = area * area
    found: set[tuple[int, int]] = set()
    width = step
    while width * step <= limit:
        height = (limit // width) // step * step
        if height >= step:
            found.add((width, height))
            found.add((height, width))
        width += step
    return sorted(found)


def nearest_bucket(area: int, step: int, ratio: float) -> tuple[int, int]:
    """The bucket whose ratio is nearest `ratio` (in log terms); the larger on ties."""
    target = math.log(ratio)
    return min(buckets(area, step),
               key=lambda b: (round(abs(math.log(b[0] / b[1]) - target), 9), -b[0] * b[1]))


def _centred_trim(w: int, h: int, ratio: float) -> tuple[float, float, float, float]:
    """The largest centred part of a w×h crop with `ratio`: the least trimmed."""
    if w / h > ratio:
        keep_w = h * ratio
        return ((w - keep_w) / 2, 0.0, (w + keep_w) / 2, float(h))
    keep_h = w / ratio
    return (0.0, (h - keep_h) / 2, float(w), (h + keep_h) / 2)


def _cover(w: int, h: int, out_w: int, out_h: int, upscale: bool,
           what: str) -> Plan:
    """Fill out_w×out_h from the crop: trim to its ratio, then scale."""
    trim = _centred_trim(w, h, out_w / out_h)
    kept_w, kept_h = trim[2] - trim[0], trim[3] - trim[1]
    if (kept_w < out_w - 1e-6 or kept_h < out_h - 1e-6) and not upscale:
        return Plan((w, h), (0.0, 0.0, float(w), float(h)), False,
                    f"crop {w}×{h} is smaller than {what} {out_w}×{out_h}: kept at its own "
                    "size (--upscale enlarges it)")
    return Plan((out_w, out_h), trim, (round(kept_w), round(kept_h)) != (out_w, out_h))


def plan(shape: Shape | None, w: int, h: int) -> Plan:
    """What a crop of w×h becomes under `shape` (None: itself)."""
    whole = (0.0, 0.0, float(w), float(h))
    if shape is None or w <= 0 or h <= 0:
        return Plan((w, h), whole, False)
    if shape.kind == "bucket":
        out_w, out_h = nearest_bucket(shape.a, shape.b, w / h)
        result = _cover(w, h, out_w, out_h, shape.upscale, "the bucket")
        return Plan(result.out, result.trim, result.resized) if result.warning else result
    if shape.kind == "exact":
        return _cover(w, h, shape.a, shape.b, shape.upscale, "--exact")
    longest = max(w, h)
    if longest <= shape.a and not shape.upscale:
        return Plan((w, h), whole, False)
    scale = shape.a / longest
    out = (max(1, round(w * scale)), max(1, round(h * scale)))
    return Plan(out, whole, out != (w, h))


def describe(shape: Shape | None, w: int, h: int) -> str:
    """`crop W × H` or, with a shape, `crop W × H → out w × h` (the window's caption)."""
    text = f"crop {w} × {h}"
    if shape is None:
        return text
    chosen = plan(shape, w, h)
    out = chosen.out
    return text + f" → out {out[0]} × {out[1]}" + (
        " (smaller than --exact: kept)" if chosen.warning else "")
