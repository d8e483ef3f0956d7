"""Test material, made fast: folders of empty image files (the daemon only lists and
stats them), progress files with N completed images already in them, and
photo-like PNGs for the headless crop runs."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from crop_progress import store
from crop_progress.model import Progress
from crop_progress.naming import SUFFIX, sanitize
from crop_progress.paths import directory_key
from crop_progress.scan import directory_hash
from crop_progress.timefmt import now_iso


def image_names(count: int, start: int = 0) -> list[str]:
    """Names like the users': `20250803_000001_stage2_upscaled.png`."""
    return [f"20250803_{i:06d}_stage2_upscaled.png" for i in range(start + 1, start + count + 1)]


def make_empty_images(folder: Path, count: int) -> list[str]:
    """`count` empty `.png` files in `folder` (created if need be); returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = image_names(count)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    base = str(folder) + os.sep
    for name in names:
        os.close(os.open(base + name, flags, 0o644))
    return names


def make_many(folders: list[Path], count: int) -> None:
    """`make_empty_images` in several folders at once (the kernel work runs in parallel)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda folder: make_empty_images(folder, count), folders))


def write_progress(progress_dir: Path, directory: Path, names: list[str],
                   completed: int) -> Path:
    """A version-2 progress file saying the first `completed` of `names` are done,
    where the daemon will look for it (`<name>_progress.json`)."""
    directory = directory.resolve()
    stamp = now_iso()
    done = names[:completed]
    progress = Progress(directory=directory_key(directory), directory_hash=directory_hash(names),
                        total_images=len(names), completed_count=len(done),
                        current_index=len(done), last_processed_file=done[-1] if done else None,
                        completed_files=done, output_directory=directory_key(
                            directory.parent / f"{directory.name}_cropped"),
                        created=stamp, modified=stamp)
    path = progress_dir / f"{sanitize(directory.name)}{SUFFIX}"
    store.save(path, progress)
    return path


def make_pngs(folder: Path, count: int, size: int) -> list[Path]:
    """`count` RGB PNGs of `size`² with the texture of an upscale (gradients under
    fine noise, about 1 byte per pixel once compressed), each a little different."""
    from PIL import Image, ImageChops

    folder.mkdir(parents=True, exist_ok=True)
    green = Image.linear_gradient("L").resize((size, size))
    blue = Image.radial_gradient("L").resize((size, size))
    noise = Image.effect_noise((size, size), 8)
    paths = []
    for i in range(count):
        red = ImageChops.offset(noise, i * 7, i * 13)
        image = Image.merge("RGB", [red, green, blue])
        path = folder / f"20250803_{i + 1:06d}_stage2_upscaled.png"
        image.save(path, compress_level=1)  # generation speed; crops re-encode at the default
        paths.append(path)
    return paths
