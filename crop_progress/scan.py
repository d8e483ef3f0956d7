"""What a directory holds: its images in file-name order, their companions, its hash,
and which folders under a parent are work folders.

Images are `.png .jpg .jpeg .webp .tif .tiff` in any case, not recursive.
A companion is a file with the image's stem and another extension (`.yaml`,
`.caption`, `.txt`, ...); a `.decision` file named by the part of the stem
before `_stage` belongs to every image of that group, as in the origin tool.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"})
_IMAGE_EXTS = frozenset(ext[1:] for ext in IMAGE_EXTENSIONS)
DECISION_EXTENSION = ".decision"


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS and not name.startswith(".")


def group_stem(stem: str) -> str | None:
    """The origin's group stem: the part of an image stem before `_stage`."""
    cut = stem.find("_stage")
    return stem[:cut] if cut > 0 else None


def directory_hash(images: list[str]) -> str:
    """sha256 of the sorted image names, one per line."""
    return hashlib.sha256("\n".join(sorted(images)).encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class Scan:
    directory: Path
    images: list[str]
    # stem -> names of the non-image files with that stem
    others: dict[str, list[str]] = field(default_factory=dict)
    mtime_ns: int = 0

    @property
    def hash(self) -> str:
        return directory_hash(self.images)


def companions_in(others: dict[str, list[str]], image: str) -> list[str]:
    """An image's companions, sorted: same stem, plus its group's `.decision`."""
    stem = os.path.splitext(image)[0]
    found = list(others.get(stem, ()))
    group = group_stem(stem)
    if group is not None:
        found += [n for n in others.get(group, ()) if n.lower().endswith(DECISION_EXTENSION)]
    return sorted(set(found))


def scan_directory(directory: Path) -> Scan:
    """One `scandir` pass; raises OSError when the folder cannot be read."""
    images: list[str] = []
    others: dict[str, list[str]] = {}
    mtime_ns = directory.stat().st_mtime_ns
    add_image = images.append
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                # d_type answers both without a stat on the usual filesystems
                if entry.is_symlink():
                    if not entry.is_file() or not _inside(entry.path, directory):
                        continue  # a link out of the folder is not part of its work
                elif not entry.is_file():
                    continue
            except OSError:
                continue
            # rpartition is splitext for names that do not start with a dot, and
            # cheaper: this loop runs once per file of folders of 100,000 files
            stem, dot, ext = name.rpartition(".")
            if dot and (ext in _IMAGE_EXTS or ext.lower() in _IMAGE_EXTS):
                add_image(name)
            else:
                others.setdefault(stem if dot else name, []).append(name)
    images.sort()
    return Scan(directory=directory, images=images, others=others, mtime_ns=mtime_ns)


def _inside(path: str, directory: Path) -> bool:
    return Path(path).resolve().parent == directory.resolve()


def has_images(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(is_image_name(e.name) and e.is_file() for e in entries)
    except OSError:
        return False


def is_work_folder_name(name: str) -> bool:
    """Hidden folders and `*_cropped` outputs are never work folders."""
    return not name.startswith(".") and not name.endswith("_cropped")


def work_directories(directory: Path) -> list[Path]:
    """`directory` itself when it holds images, else its subfolders that do,
    alphabetical without regard to case (the origin's multi-directory mode)."""
    if has_images(directory):
        return [directory]
    subfolders = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir() and is_work_folder_name(entry.name):
                subfolders.append(Path(entry.path))
    subfolders.sort(key=lambda p: (p.name.casefold(), p.name))
    return [p for p in subfolders if has_images(p)]
