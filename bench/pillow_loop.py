"""The baselines of figure 7, each one process working a folder in file-name order
with no tracking at all:

- `pillow`: Image.open, crop to the largest centred box of the aspect, save
  (PNG, Pillow's default settings, straight to the destination name);
- `imageops`: `crop_client.imageops.crop_image` (metadata kept, temporary
  name, fsync, rename): the product's own file work without the daemon;
- `copy`: `shutil.copyfile`, the file work of an image that is kept whole.

Run as `python -m bench.pillow_loop MODE SRC DEST ASPECT`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PIL import Image

from crop_client.aspect import center_box, parse_aspect


def run(mode: str, src: Path, dest: Path, aspect: str) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    wanted = parse_aspect(aspect)
    done = 0
    for path in sorted(src.glob("*.png")):
        target = dest / path.name
        if mode == "copy":
            shutil.copyfile(path, target)
        else:
            with Image.open(path) as image:
                box = center_box(*image.size, wanted.for_image(*image.size))
                if mode == "imageops":
                    from crop_client import imageops

                    imageops.crop_image(path, target, box)
                else:
                    image.crop(box).save(target, format="PNG")
        done += 1
    return done


def main() -> None:
    mode, src, dest, aspect = sys.argv[1:5]
    print(run(mode, Path(src), Path(dest), aspect), flush=True)


if __name__ == "__main__":
    main()
