"""The options of one `multicrop` run, parsed from its command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crop_client.aspect import Aspect, parse_aspect
from crop_client.shaping import Shape

AUTO_MODES = ("keep", "center", "suggest")
"""The values of `--auto`, in the order `--help` lists them."""


@dataclass
class Options:
    directories: list[Path]
    resume: bool = True
    reset_progress: bool = False
    show_progress: bool = False
    progress_dir: Path | None = None
    output_dir: Path | None = None
    per_batch: int = 3
    aspect: Aspect = field(default_factory=lambda: parse_aspect("original"))
    move: bool = False
    retry_skipped: bool = False
    retry_failed: bool = False
    auto: str | None = None      # one of AUTO_MODES, or None for the window
    limit: int | None = None
    endpoint: str | None = None  # None: $CROPD_ENDPOINT or the default
    shape: Shape | None = None   # --fit / --max-side / --exact (+ --upscale)
    png_level: int | None = None  # --png-level; None: imageops.PNG_LEVEL
    suggest: str = "off"         # --suggest off|saliency
