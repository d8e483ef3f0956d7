"""Which progress file belongs to which directory.

`<sanitized>_progress.json`, where `<sanitized>` is the directory's base name
with `/`, `\\` and spaces replaced by `_`. A second, different directory with
the same base name gets `<sanitized>_<8 hex of sha256 of its path>_progress.json`.
Ownership is read from the files' `directory` field (salvaged from a damaged
file's first lines when need be), so one directory maps to one file however it
is spelled and two directories never share one; should both names be another
directory's (a base name that looks like a hashed name), a longer hash follows.
A directory that was moved or renamed is found by its `directory_hash`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import msgspec

from crop_progress import fsio, shares
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


# `"directory": "..."` near the top of a file whose end is damaged (truncated).
_HEAD_FIELD = re.compile(rb'"(directory|directory_hash)"\s*:\s*("(?:[^"\\]|\\.)*")')


def _salvage_head(data: bytes) -> _Head | None:
    """The head fields still readable in a damaged file, so its owner stays known."""
    found: dict[str, str] = {}
    for match in _HEAD_FIELD.finditer(data[:65536]):
        key = match.group(1).decode()
        if key not in found:
            try:
                found[key] = msgspec.json.decode(match.group(2), type=str)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
    if "directory" not in found:
        return None
    return _Head(directory=found["directory"], directory_hash=found.get("directory_hash", ""))


def read_head(path: Path) -> _Head | None:
    """The `directory` and `directory_hash` of a file, or of its `.bak` when the
    file itself is damaged, or what is left of them in the damaged file; None
    when nothing names the owner."""
    damaged = []
    for candidate in (path, bak_path(path)):
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        try:
            return _head_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            damaged.append(data)
    for data in damaged:
        head = _salvage_head(data)
        if head is not None:
            return head
    return None


def peek_head(path: Path) -> _Head | None:
    """`read_head` from the first few KiB: the head fields come first in every file
    we write, so scanning many large files for their owner stays cheap."""
    try:
        with open(path, "rb") as reader:
            start = reader.read(4096)
    except OSError:
        return read_head(path)
    head = _salvage_head(start)
    return head if head is not None and head.directory_hash else read_head(path)


def _same_directory(owner: str, key: str) -> bool:
    if owner == key:
        return True
    # The seed's version-1 files hold the directory as typed (`_asian/`); such a
    # relative name belongs to any directory with that base name. A team share's key
    # (`studio:shoot/`) is no such name: it belongs to that directory alone.
    return (not os.path.isabs(owner) and shares.split_key(owner) is None
            and Path(owner).name == Path(key).name)


@dataclass
class Resolution:
    path: Path
    adopted_from: str | None = None  # the old directory of a moved/renamed one
    source: Path | None = None  # its progress file, to be renamed to `path`
    onto_share: str | None = None  # the share key a directory known by its path now has

    @property
    def message(self) -> str | None:
        if self.adopted_from is None:
            return None
        if self.onto_share is not None:
            return (f"{self.adopted_from} is on a team share now: its progress goes on as "
                    f"{self.onto_share}")
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
    names = _names(progress_dir, directory)
    taken = [p.exists() or bak_path(p).exists() for p in names]
    # The hash-suffixed names first: a directory's base name may itself look like
    # another directory's hashed name, so every taken name is checked for its owner.
    for path, is_taken in [*zip(names[1:], taken[1:], strict=True), (names[0], taken[0])]:
        if is_taken and _owns(path, key):
            return Resolution(path)
    absolute = str(directory) if str(directory).endswith(os.sep) else str(directory) + os.sep
    if absolute != key:  # on a share now: its file from before the share map is its own
        stem = sanitize(directory.name)
        for path in (names[0], progress_dir / f"{stem}_{path_hash(absolute)}{SUFFIX}"):
            if (path.exists() or bak_path(path).exists()) and _owns(path, absolute):
                target = path if path == names[0] else next(
                    (p for p, is_taken in zip(names, taken, strict=True) if not is_taken),
                    names[-1])
                return Resolution(target, adopted_from=absolute, source=path,
                                  onto_share=key)
    free = next((p for p, is_taken in zip(names, taken, strict=True)
                 if not is_taken), names[-1])
    if current_hash and has_images:
        for other in progress_files(progress_dir):
            head = peek_head(other)
            if (head is None or head.directory_hash != current_hash
                    or not os.path.isabs(head.directory) or os.path.isdir(head.directory)):
                continue
            target = other if other in names else free  # adopted before, not yet saved
            return Resolution(target, adopted_from=head.directory, source=other)
    return Resolution(free)


def _names(progress_dir: Path, directory: Path) -> list[Path]:
    """The plain name, the 8-hex name, then longer hashes for names taken by others."""
    plain, hashed = candidates(progress_dir, directory)
    digest = hashlib.sha256(directory_key(directory).encode("utf-8", "surrogateescape"))
    stem = sanitize(directory.name)
    return [plain, hashed, *(progress_dir / f"{stem}_{digest.hexdigest()[:n]}{SUFFIX}"
                             for n in (16, 64))]


def _owns(path: Path, key: str) -> bool:
    """Whether the taken file `path` belongs to `key` (an unreadable one is presumed to)."""
    head = read_head(path)
    return head is None or _same_directory(head.directory, key)


def adopt(source: Path, target: Path) -> None:
    """Move a moved directory's file (and `.bak`) to its new name."""
    if source == target:
        return
    for suffix in ("", BAK_SUFFIX):
        old = source.with_name(source.name + suffix)
        if old.exists():
            fsio.rename(old, target.with_name(target.name + suffix))
