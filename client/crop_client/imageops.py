"""Image file work of a crop client: reading, cropping, copying and moving files.

This module owns everything a client does to image files after it has claimed an
image: the image's size as displayed (EXIF orientation applied), writing a crop
in the source's own format with its metadata (what is kept, and how, is
`image_metadata`'s), byte-for-byte copies and moves of originals and companions,
and the crash-safe way every output file is written: a temporary name in the
destination folder, flushed and fsynced, then renamed (``fsio``) onto the real
name, so a killed process never leaves a half-written file under that name.

A source that cannot be read raises :class:`ImageError` with a one-line reason
(``"cannot read image: truncated PNG"``); a bad crop box raises ``ValueError``;
failures to write the destination are plain ``OSError``. Nothing here talks to
the daemon or decides anything about progress.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, UnidentifiedImageError

from crop_client import image_metadata, shaping
from crop_progress import fsio

# The images are the user's own AI upscales, not untrusted input: a 16384² PNG
# (268 MP) is ordinary here, above Pillow's decompression-bomb guard (179 MP).
Image.MAX_IMAGE_PIXELS = 1 << 30

__all__ = [
    "ImageError",
    "check_png_level",
    "copy_file",
    "crop_image",
    "is_full_image",
    "move_file",
    "oriented_size",
    "remove_stale_temp_files",
]

Box = tuple[int, int, int, int]

PNG_LEVEL = shaping.PNG_LEVEL
PNG_STRATEGY = shaping.PNG_STRATEGY    # zlib.Z_RLE: see shaping.py for the measurement

_TEMP_NAME = re.compile(r"^\..+\.tmp-[a-z0-9_]{8}$")


class ImageError(Exception):
    """A source image cannot be read; ``str(error)`` is a one-line reason for people."""


# --------------------------------------------------------------------------- public API


def oriented_size(path: Path) -> tuple[int, int]:
    """Width and height of the image as displayed, after EXIF orientation.

    Reads the header and the metadata only; the pixels are not decoded.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
            if im.format == "PNG":
                # Pillow's PNG getexif() decodes the whole image when no eXIf
                # chunk precedes the pixels: look at the chunks ourselves.
                orientation = image_metadata.png_orientation(path)
            elif im.format == "TIFF":
                # Recent Pillow reports a TIFF's size already turned upright;
                # older Pillow does not. The stored size is unambiguous.
                tags = im.tag_v2  # type: ignore[attr-defined]  # a TiffImageFile
                width, height = tags[256], tags[257]
                orientation = image_metadata.orientation(im)
            else:
                orientation = image_metadata.orientation(im)
    except ImageError:
        raise
    except Exception as exc:
        raise _read_error(path, exc) from exc
    return (height, width) if orientation >= 5 else (width, height)


def crop_image(src: Path, dest: Path, box: tuple[int, int, int, int], *,
               shape: shaping.Shape | None = None,
               png_level: int | None = None) -> tuple[int, int]:
    """Write the part ``box`` of ``src`` to ``dest``, in the format of ``src``; return the
    size written.

    With a ``shape`` (shaping.py) the part is trimmed and resized to it (Lanczos);
    ``png_level`` is the zlib level of a PNG output; without it, ``PNG_LEVEL`` with the
    RLE strategy (``PNG_STRATEGY``), as measured in bench/png_levels.py.

    ``box`` is (left, top, right, bottom) in full-resolution pixels of the image
    as displayed, i.e. after ``ImageOps.exif_transpose``. The crop keeps the
    source's metadata (see the module docstring); when the pixels had to be
    turned upright, the Orientation in EXIF/XMP/TIFF is set to 1.

    Raises ``ValueError`` for a box that is empty or outside the image,
    :class:`ImageError` when ``src`` cannot be read, ``OSError`` when ``dest``
    cannot be written; in every failure ``dest`` is left as it was.
    """
    src, dest = Path(src), Path(dest)
    left, top, right, bottom = _box_shape(box)
    level = PNG_LEVEL if png_level is None else check_png_level(png_level)
    strategy = PNG_STRATEGY if png_level is None else None
    _refuse_same_file(src, dest)
    try:
        src_mode = stat.S_IMODE(os.stat(src).st_mode)
        im = Image.open(src)
    except Exception as exc:
        raise _read_error(src, exc) from exc
    with im:
        fmt = im.format or ""
        if fmt not in image_metadata.SAVE_AS:
            raise ImageError(f"cannot crop {fmt or 'this kind of'} images")
        frames = getattr(im, "n_frames", 1)
        if frames > 1 and fmt != "MPO":
            raise ImageError(f"cannot crop an image of {frames} frames (animated or multi-page)")
        # Recent Pillow turns a TIFF upright while loading it and drops its
        # Orientation; remember it, so the metadata is made to agree.
        stored = image_metadata.orientation(im) if fmt == "TIFF" else 1
        try:
            im.load()
        except Exception as exc:
            raise _read_error(src, exc) from exc
        orientation = image_metadata.orientation(im)
        width, height = im.size
        shown = (height, width) if orientation >= 5 else (width, height)
        _check_inside((left, top, right, bottom), shown)
        part = im.crop(_raw_box((left, top, right, bottom), orientation, (width, height)))
        method = image_metadata.TRANSPOSE.get(orientation)
        if method is not None:
            part = part.transpose(method)
        upright = method is not None or stored != 1
        params = image_metadata.SAVE_PARAMS[image_metadata.SAVE_AS[fmt]](im, src, upright)
    part = _shaped(part, shape)
    if image_metadata.SAVE_AS[fmt] == "PNG":
        params["compress_level"] = level
        if strategy is not None:
            params["compress_type"] = strategy

    def write(f: BinaryIO) -> None:
        part.save(f, format=image_metadata.SAVE_AS[fmt], **params)

    _write_atomically(dest, write, mode=src_mode)
    return part.size


def check_png_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
        raise ValueError(f"the PNG level must be 0-9, not {level!r}")
    return level


def _shaped(part: Image.Image, shape: shaping.Shape | None) -> Image.Image:
    """The cropped pixels trimmed and resized to ``shape``; untouched without one."""
    chosen = shaping.plan(shape, *part.size)
    if chosen.unchanged:
        return part
    left, top, right, bottom = chosen.trim
    if not chosen.resized:
        return part.crop((round(left), round(top), round(right), round(bottom)))
    source = part
    if part.mode in ("P", "1"):   # palette pixels cannot be filtered: resample in colour
        source = part.convert("RGBA" if "transparency" in part.info else "RGB")
    elif part.mode in ("I;16", "I;16B", "I;16L"):
        source = part.convert("I")
    resized = source.resize(chosen.out, Image.Resampling.LANCZOS, box=chosen.trim)
    return resized.convert(part.mode) if part.mode in ("I;16", "I;16B", "I;16L") else resized


def copy_file(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` byte for byte, keeping mode and times (like ``copy2``).

    Written through a temporary file and a rename, so ``dest`` is either the
    old file or the complete copy, never a part.
    """
    src, dest = Path(src), Path(dest)
    _refuse_same_file(src, dest)
    with open(src, "rb") as fsrc:
        size = os.fstat(fsrc.fileno()).st_size

        def write(f: BinaryIO) -> None:
            _copy_bytes(fsrc, f, size)

        _write_atomically(dest, write, stat_from=src)


def move_file(src: Path, dest: Path) -> None:
    """Move ``src`` to ``dest``: a rename on one filesystem, else copy then unlink."""
    src, dest = Path(src), Path(dest)
    _refuse_same_file(src, dest)
    try:
        fsio.rename(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_file(src, dest)
        os.unlink(src)
    if src.parent != dest.parent:
        fsio.fsync_dir(src.parent)


def is_full_image(box: Sequence[int], size: tuple[int, int]) -> bool:
    """True when ``box`` (left, top, right, bottom) covers the whole image of ``size``."""
    return tuple(box) == (0, 0, size[0], size[1])


def remove_stale_temp_files(folder: Path, older_than: float = 3600.0) -> list[Path]:
    """Remove temporary files this module left in ``folder`` when a process was killed.

    Only names of the form ``.{name}.tmp-XXXXXXXX`` untouched for ``older_than``
    seconds are removed (younger ones may belong to another window still
    writing). Returns the removed paths.
    """
    removed: list[Path] = []
    limit = time.time() - older_than
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if not _TEMP_NAME.match(entry.name):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


# --------------------------------------------------------------------------- box geometry


def _box_shape(box: Sequence[Any]) -> Box:
    """The box as four ints, or ValueError when it is not a non-empty box."""
    try:
        values = tuple(box)
    except TypeError:
        raise ValueError(f"crop box must be (left, top, right, bottom), not {box!r}") from None
    if len(values) != 4 or any(isinstance(v, bool) for v in values):
        raise ValueError(f"crop box must be (left, top, right, bottom), not {box!r}")
    try:
        left, top, right, bottom = (v.__index__() for v in values)
    except (AttributeError, TypeError):
        raise ValueError(f"crop box must be whole pixels, not {box!r}") from None
    if right <= left or bottom <= top:
        raise ValueError(
            f"crop box {(left, top, right, bottom)} is empty: right must exceed left "
            "and bottom must exceed top"
        )
    return left, top, right, bottom


def _check_inside(box: Box, size: tuple[int, int]) -> None:
    left, top, right, bottom = box
    width, height = size
    if left < 0 or top < 0 or right > width or bottom > height:
        raise ValueError(f"crop box {box} is outside the image ({width}x{height})")


def _raw_box(box: Box, orientation: int, raw_size: tuple[int, int]) -> Box:
    """Map a box of the displayed image onto the stored (untransposed) pixels."""
    left, top, right, bottom = box
    w, h = raw_size
    return {
        2: (w - right, top, w - left, bottom),
        3: (w - right, h - bottom, w - left, h - top),
        4: (left, h - bottom, right, h - top),
        5: (top, left, bottom, right),
        6: (top, h - right, bottom, h - left),
        7: (w - bottom, h - right, w - top, h - left),
        8: (w - bottom, left, w - top, right),
    }.get(orientation, box)


# --------------------------------------------------------------------------- file writing


def _write_atomically(
    dest: Path,
    write: Callable[[BinaryIO], None],
    *,
    mode: int | None = None,
    stat_from: Path | None = None,
) -> None:
    """Write ``dest`` through ``fsio.atomic_write`` (temp file, fsync, rename).

    On any failure (including KeyboardInterrupt) the temporary file is removed
    and ``dest`` is untouched.
    """
    fsio.atomic_write(dest, write, mode=mode, stat_from=stat_from)


_NO_FAST_COPY = frozenset(
    {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF}
)


def _copy_bytes(fsrc: BinaryIO, fdst: BinaryIO, size: int) -> None:
    """Copy an open file's bytes in the kernel when it can (reflinks on btrfs/XFS)."""
    infd, outfd = fsrc.fileno(), fdst.fileno()
    chunk = 1 << 30
    steps: list[Callable[[], int]] = []
    if hasattr(os, "copy_file_range"):
        steps.append(lambda: os.copy_file_range(infd, outfd, chunk))
    if hasattr(os, "sendfile"):
        steps.append(lambda: os.sendfile(outfd, infd, None, chunk))
    copied = 0
    for step in steps:
        try:
            while copied < size and (n := step()) > 0:
                copied += n
        except OSError as exc:
            if copied or exc.errno not in _NO_FAST_COPY:
                raise
    if not copied:
        shutil.copyfileobj(fsrc, fdst, 1 << 20)
        fdst.flush()
        copied = fdst.tell()
    if copied != size:
        raise OSError(errno.EIO, f"copy ended after {copied} of {size} bytes", str(fsrc.name))


def _refuse_same_file(src: Path, dest: Path) -> None:
    with contextlib.suppress(OSError):
        if os.path.samefile(src, dest):
            raise ValueError(f"source and destination are the same file: {src}")


# --------------------------------------------------------------------------- read errors


def _sniff(path: Path) -> str | None:
    """The format a file's first bytes announce, for messages."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head.startswith(image_metadata.PNG_SIGNATURE):
        return "PNG"
    if head.startswith(b"\xff\xd8"):
        return "JPEG"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WebP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    return None


def _read_error(path: Path, exc: BaseException) -> ImageError:
    """An ImageError with a one-line reason for a failure to open or decode ``path``."""
    kind = _sniff(path)
    name = kind or "image"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        reason = "file not found"
    elif isinstance(exc, IsADirectoryError):
        reason = "it is a folder, not a file"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    elif isinstance(exc, Image.DecompressionBombError):
        reason = "image too large to open safely (Pillow's decompression-bomb limit)"
    elif isinstance(exc, UnidentifiedImageError):
        if _is_empty(path):
            reason = "empty file"
        elif kind:
            reason = f"damaged or truncated {kind} (header unreadable)"
        else:
            reason = "not an image, or a format that is not supported"
    elif isinstance(exc, EOFError) or "truncated" in message.lower():
        reason = f"truncated {name}"
    elif isinstance(exc, MemoryError):
        reason = "not enough memory to decode it"
    else:
        reason = f"damaged {name} ({message})"
    return ImageError(f"cannot read image: {reason}")


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
