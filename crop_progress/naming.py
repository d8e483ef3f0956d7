"""Which progress file belongs to which directory.

`<sanitized>_progress.json`, where `<sanitized>` is the directory's base name
with `/`, `\\` and spaces replaced by `_`. A second, different directory with
the same base name gets `<sanitized>_<8 hex of sha256 of its path>_progress.json`.
Ownership is read from the files' `directory` field, so one directory maps to
one file however it is spelled and two directories never share one. A
directory that was moved or renamed is found by its `directory_hash`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

from crop_progress.paths import directory_key
from crop_progress.store import BAK_SUFFIX, bak_path

SUFFIX = "_progress.json"
MAX_STEM_BYTES = 180  # leaves room for the hash, suffix and `.bak` under NAME_MAX


class _Head(msgspec.Struct):
    directory: str = ""
    directory_hash: str = ""


_head_decoder = msgspec.json.Decoder(_Head)


def sanitize(name: str) -> str:
    cleaned = name.replace("/", "_").replace("\\", "_").replace(" ", "_") or "_root"
    encoded = cleaned.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_STEM_BYTES:
        cleaned = encoded[:MAX_STEM_BYTES].decode("utf-8", "ignore")
    return cleaned


def path_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def candidates(progress_dir: Path, directory: Path) -> tuple[Path, Path]:
    """The plain and the hash-suffixed file names for a resolved directory."""
    stem = sanitize(directory.name)
    return (progress_dir / f"{stem}{SUFFIX}",
            progress_dir / f"{stem}_{path_hash(directory_key(directory))}{SUFFIX}")


def read_head(path: Path) -> _Head | None:
    """The `directory` and `directory_hash` of a file, or of its `.bak` when the
    file itself is damaged; None when neither can be read."""
    for candidate in (path, bak_path(path)):
        try:
            return _head_decoder.decode(candidate.read_bytes())
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            continue
    return None


def _same_directory(owner: str, key: str) -> bool:
    if owner == key:
        return True
    # The seed's version-1 files hold the directory as typed (`_asian/`); such a
    # relative name belongs to any directory with that base name.
    return not os.path.isabs(owner) and Path(owner).name == Path(key).name


@dataclass
class Resolution:
    path: Path
    adopted_from: str | None = None  # the old directory of a moved/renamed one
    source: Path | None = None  # its progress file, to be renamed to `path`

    @property
    def message(self) -> str | None:
        if self.adopted_from is None:
            return None
        return (f"This directory looks like {self.adopted_from} moved or renamed (same images); "
                "its progress was adopted")


def progress_files(progress_dir: Path) -> list[Path]:
    if not progress_dir.is_dir():
        return []
    return sorted(p for p in progress_dir.iterdir()
                  if p.name.endswith(SUFFIX) and not p.name.startswith("."))


def resolve(progress_dir: Path, directory: Path, current_hash: str | None = None,
            has_images: bool = True) -> Resolution:
    """The progress file of `directory` (already resolved), existing or to be made.

    With `current_hash`, a directory that has no file yet adopts the file of a
    directory that no longer exists and had exactly these images.
    """
    key = directory_key(directory)
    plain, hashed = candidates(progress_dir, directory)
    if hashed.exists() or bak_path(hashed).exists():
        return Resolution(hashed)
    plain_taken = plain.exists() or bak_path(plain).exists()
    if plain_taken:
        head = read_head(plain)
        if head is None or _same_directory(head.directory, key):
            return Resolution(plain)
    if current_hash and has_images:
        for other in progress_files(progress_dir):
            head = read_head(other)
            if (head is None or head.directory_hash != current_hash
                    or not os.path.isabs(head.directory) or os.path.isdir(head.directory)):
                continue
            return Resolution(hashed if plain_taken else plain, adopted_from=head.directory,
                              source=other)
    return Resolution(hashed if plain_taken else plain)


def adopt(source: Path, target: Path) -> None:
    """Move a moved directory's file (and `.bak`) to its new name."""
    if source == target:
        return
    for suffix in ("", BAK_SUFFIX):
        old = source.with_name(source.name + suffix)
        if old.exists():
            os.replace(old, target.with_name(target.name + suffix))
