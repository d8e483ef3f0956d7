"""Suggested crops from `.decision` companions (the origin tool's AI-suggestion files).

A `.decision` file is JSON with `ai_crop_coords`: normalised `[x1, y1, x2, y2]`.
It is named by the image's stem, or by the part of the stem before `_stage`
(the origin's group stem). A file without coordinates suggests nothing; a
damaged one suggests nothing and says why, for the status bar.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".decision"


@dataclass(frozen=True)
class Suggestion:
    coords: tuple[float, float, float, float] | None   # normalised, as written
    note: str | None = None                             # why a file was ignored


def group_stem(stem: str) -> str:
    """`20250803_172343_stage2_upscaled` → `20250803_172343`."""
    index = stem.find("_stage")
    return stem[:index] if index > 0 else stem


def decision_file(image_path: str, companions: list[str]) -> Path | None:
    """The image's `.decision` companion: named by its stem first, else by its group stem."""
    image = Path(image_path)
    folder = image.parent
    candidates = [Path(c) if Path(c).is_absolute() else folder / c
                  for c in companions if c.lower().endswith(SUFFIX)]
    wanted = [image.stem + SUFFIX, group_stem(image.stem) + SUFFIX]
    for name in wanted:
        for candidate in candidates:
            if candidate.name == name:
                return candidate
    for name in wanted:   # not listed as a companion: look beside the image
        path = folder / name
        if path.is_file():
            return path
    return candidates[0] if candidates else None


def read_suggestion(path: Path) -> Suggestion:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return Suggestion(None, f"ignored damaged {path.name}: {_reason(error)}")
    if not isinstance(data, dict):
        return Suggestion(None, f"ignored damaged {path.name}: not a JSON object")
    coords = data.get("ai_crop_coords")
    if coords is None:
        return Suggestion(None)
    try:
        values = tuple(float(v) for v in coords)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return Suggestion(None, f"ignored damaged {path.name}: ai_crop_coords is not "
                                "four numbers")
    x1, x2 = sorted(values[0::2])
    y1, y2 = sorted(values[1::2])
    if min(x2, 1.0) - max(x1, 0.0) <= 0 or min(y2, 1.0) - max(y1, 0.0) <= 0:
        return Suggestion(None, f"ignored damaged {path.name}: ai_crop_coords is an empty box")
    return Suggestion((x1, y1, x2, y2))


def suggestion_for(image_path: str, companions: list[str]) -> Suggestion:
    path = decision_file(image_path, companions)
    return read_suggestion(path) if path is not None else Suggestion(None)


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:80]
