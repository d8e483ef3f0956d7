"""A generated sample set, for `make run` and `multicrop` with no directory."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from PIL import Image, ImageDraw

from crop_progress.paths import APP

COUNT = 9
SIZE = (1600, 1200)


def sample_set(count: int = COUNT) -> Path:
    """`<user data dir>/samples/sample_set/`, made once: PNGs with `.yaml` companions."""
    folder = Path(platformdirs.user_data_dir(APP)) / "samples" / "sample_set"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"20250803_{100000 + i * 37:06d}_stage2_upscaled.png"
        if path.exists():
            continue
        image = Image.new("RGB", SIZE, (30 + 20 * i, 60, 120 - 10 * i))
        draw = ImageDraw.Draw(image)
        for ring in range(0, 600, 40):
            draw.ellipse([800 - ring, 600 - ring, 800 + ring, 600 + ring],
                         outline=(255, 200 - ring // 4, 80 + ring // 5), width=6)
        draw.text((40, 40), f"sample {i + 1}", fill=(255, 255, 255))
        tmp = path.with_name("." + path.name + ".tmp")
        image.save(tmp, "PNG")
        tmp.replace(path)
        path.with_suffix(".yaml").write_text(f"prompt: sample image {i + 1}\nseed: {i}\n")
    return folder
