"""Image file work of a crop client: reading, cropping, copying and moving files.

This module owns everything a client does to image files after it has claimed an
image: the image's size as displayed (EXIF orientation applied), writing a crop
in the source's own format with its metadata (PNG text chunks, EXIF, ICC
profile, DPI, XMP; JPEG quantization tables and subsampling; WebP losslessness;
TIFF compression), byte-for-byte copies and moves of originals and companions,
and the crash-safe way every output file is written: a temporary name in the
destination folder, flushed and fsynced, then ``os.replace``d onto the real
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
import struct
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, JpegImagePlugin, PngImagePlugin, TiffImagePlugin, UnidentifiedImageError

from crop_progress import fsio

# The images are the user's own AI upscales, not untrusted input: a 16384² PNG
# (268 MP) is ordinary here, above Pillow's decompression-bomb guard (179 MP).
Image.MAX_IMAGE_PIXELS = 1 << 30

__all__ = [
    "ImageError",
    "copy_file",
    "crop_image",
    "is_full_image",
    "move_file",
    "oriented_size",
    "remove_stale_temp_files",
]

Box = tuple[int, int, int, int]

ORIENTATION = 0x0112  # EXIF / TIFF Orientation tag

# Orientation value -> the transpose ImageOps.exif_transpose applies for it.
_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Formats a crop can be written in (Pillow's name -> the name to save with).
# MPO is what Pillow calls a JPEG carrying extra (preview/depth) pictures: the
# crop is of the primary picture and is written as a plain JPEG.
_SAVE_AS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WEBP", "TIFF": "TIFF"}

# Lossy re-encoding where the source's own settings cannot be known.
_HIGH_QUALITY = 95

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# Ancillary PNG chunks copied verbatim into a crop (they stay true after a crop).
# iCCP, eXIf and pHYs are rewritten by Pillow from icc_profile / exif / dpi.
_PNG_COPY = _PNG_TEXT | {b"gAMA", b"cHRM", b"sRGB", b"cICP", b"sBIT", b"bKGD"}
# ... except these describe sample values, which Pillow may have reduced to 8 bits.
_PNG_DEPTH_BOUND = frozenset({b"sBIT", b"bKGD"})

# TIFF tags carried into a crop (the IFD0 tags that stay true after a crop).
_TIFF_KEEP = (
    269,  # DocumentName
    270,  # ImageDescription
    271,  # Make
    272,  # Model
    274,  # Orientation
    282,  # XResolution
    283,  # YResolution
    285,  # PageName
    296,  # ResolutionUnit
    305,  # Software
    306,  # DateTime
    315,  # Artist
    316,  # HostComputer
    700,  # XMP
    33432,  # Copyright
    33723,  # IPTC
    34377,  # Photoshop
)
_TIFF_PREDICTOR = 317
_TIFF_XMP = 700

_XMP_ORIENTATION = re.compile(rb'(tiff:Orientation(?:="|>))[0-9]')

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
                orientation = _png_orientation(path)
            elif im.format == "TIFF":
                # Recent Pillow reports a TIFF's size already turned upright;
                # older Pillow does not. The stored size is unambiguous.
                width, height = im.tag_v2[256], im.tag_v2[257]
                orientation = _orientation(im)
            else:
                orientation = _orientation(im)
    except ImageError:
        raise
    except Exception as exc:
        raise _read_error(path, exc) from exc
    return (height, width) if orientation >= 5 else (width, height)


def crop_image(src: Path, dest: Path, box: tuple[int, int, int, int]) -> None:
    """Write the part ``box`` of ``src`` to ``dest``, in the format of ``src``.

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
    _refuse_same_file(src, dest)
    try:
        src_mode = stat.S_IMODE(os.stat(src).st_mode)
        im = Image.open(src)
    except Exception as exc:
        raise _read_error(src, exc) from exc
    with im:
        fmt = im.format or ""
        if fmt not in _SAVE_AS:
            raise ImageError(f"cannot crop {fmt or 'this kind of'} images")
        frames = getattr(im, "n_frames", 1)
        if frames > 1 and fmt != "MPO":
            raise ImageError(f"cannot crop an image of {frames} frames (animated or multi-page)")
        # Recent Pillow turns a TIFF upright while loading it and drops its
        # Orientation; remember it, so the metadata is made to agree.
        stored = _orientation(im) if fmt == "TIFF" else 1
        try:
            im.load()
        except Exception as exc:
            raise _read_error(src, exc) from exc
        orientation = _orientation(im)
        width, height = im.size
        shown = (height, width) if orientation >= 5 else (width, height)
        _check_inside((left, top, right, bottom), shown)
        part = im.crop(_raw_box((left, top, right, bottom), orientation, (width, height)))
        method = _TRANSPOSE.get(orientation)
        if method is not None:
            part = part.transpose(method)
        upright = method is not None or stored != 1
        params = _SAVE_PARAMS[_SAVE_AS[fmt]](im, src, upright)

    def write(f: BinaryIO) -> None:
        part.save(f, format=_SAVE_AS[fmt], **params)

    _write_atomically(dest, write, mode=src_mode)


def copy_file(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` byte for byte, keeping mode and times (like ``copy2``).

    Written through a temporary file and ``os.replace``, so ``dest`` is either the
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
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_file(src, dest)
        os.unlink(src)
    else:
        fsio.fsync_dir(dest.parent)
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


# --------------------------------------------------------------------------- orientation


def _orientation(im: Image.Image) -> int:
    """The orientation ``ImageOps.exif_transpose`` would apply (1 when none or unreadable)."""
    try:
        value = im.getexif().get(ORIENTATION, 1)
    except Exception:
        return 1  # damaged EXIF: show the pixels as stored
    return value if value in _TRANSPOSE else 1


def _png_orientation(path: Path) -> int:
    """The orientation of a PNG from its metadata chunks, without decoding pixels."""
    info: dict[str, Any] = {}
    for cid, data, _after in _png_chunks(path, {b"eXIf"} | _PNG_TEXT):
        if cid == b"eXIf":
            info["exif"] = b"Exif\x00\x00" + data
        elif (text := _png_text(cid, data)) is not None:
            info[text[0]] = text[1]
    # Let Pillow itself read it (EXIF, ImageMagick's raw profile, XMP), as it
    # does for exif_transpose.
    probe = Image.new("1", (1, 1))
    probe.info = info
    return _orientation(probe)


def _exif_upright(exif: bytes) -> bytes:
    """EXIF bytes with the IFD0 Orientation set to 1, everything else byte-identical."""
    head = 6 if exif.startswith(b"Exif\x00\x00") else 0
    try:
        order = {b"II": "<", b"MM": ">"}[exif[head : head + 2]]
        (ifd,) = struct.unpack_from(order + "I", exif, head + 4)
        (count,) = struct.unpack_from(order + "H", exif, head + ifd)
        for i in range(count):
            entry = head + ifd + 2 + 12 * i
            tag, kind, n = struct.unpack_from(order + "HHI", exif, entry)
            if tag != ORIENTATION:
                continue
            if kind == 3 and n == 1:  # one SHORT, stored in the entry itself
                patched = bytearray(exif)
                struct.pack_into(order + "H", patched, entry + 8, 1)
                return bytes(patched)
            # An Orientation of an odd type: let Pillow write the block anew.
            parsed = Image.Exif()
            parsed.load(exif)
            parsed[ORIENTATION] = 1
            return parsed.tobytes()
    except (KeyError, struct.error):
        pass
    return exif  # no Orientation in IFD0 (it came from XMP, say) or unreadable


def _xmp_upright(xmp: Any) -> Any:
    """XMP (bytes or str) with ``tiff:Orientation`` set to 1."""
    if isinstance(xmp, str):
        return _XMP_ORIENTATION.sub(rb"\g<1>1", xmp.encode("utf-8")).decode("utf-8")
    if isinstance(xmp, bytes):
        return _XMP_ORIENTATION.sub(rb"\g<1>1", xmp)
    return xmp


def _raw_profile_upright(text: str) -> str:
    """ImageMagick's "Raw profile type exif" text with the Orientation set to 1."""
    lines = text.split("\n")
    try:
        data = bytes.fromhex("".join(lines[3:]))
    except ValueError:
        return text
    data = _exif_upright(data)
    hexed = data.hex()
    body = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    return f"\n{lines[1]}\n{len(data):8}\n{body}\n"


# --------------------------------------------------------------------------- PNG chunks


_Chunk = tuple[bytes, bytes, bool]


def _png_chunks(path: Path, wanted: set[bytes] | frozenset[bytes]) -> list[_Chunk]:
    """The chunks of a PNG whose type is in ``wanted``: (type, data, after IDAT).

    Skips over everything else with seeks, so it costs little on a big image. A
    truncated file ends the list (the decoder reports the damage).
    """
    found: list[_Chunk] = []
    after_idat = False
    with open(path, "rb") as f:
        if f.read(8) != _PNG_SIGNATURE:
            return found
        while True:
            header = f.read(8)
            if len(header) < 8:
                break
            length, cid = struct.unpack(">I4s", header)
            if cid == b"IEND":
                break
            if cid in (b"IDAT", b"fdAT"):
                after_idat = True
            if cid in wanted:
                data = f.read(length)
                if len(data) < length:
                    break
                found.append((cid, data, after_idat))
                f.seek(4, os.SEEK_CUR)
            else:
                f.seek(length + 4, os.SEEK_CUR)
    return found


def _png_text(cid: bytes, data: bytes) -> tuple[str, str] | None:
    """(keyword, text) of a tEXt/zTXt/iTXt chunk, or None when it cannot be read."""
    try:
        keyword, rest = data.split(b"\x00", 1)
        key = keyword.decode("latin-1")
        if cid == b"tEXt":
            return key, rest.decode("latin-1")
        if cid == b"zTXt":
            return key, zlib.decompress(rest[1:]).decode("latin-1")
        flag, rest = rest[0], rest[2:]
        _lang, _translated, text = rest.split(b"\x00", 2)
        return key, (zlib.decompress(text) if flag else text).decode("utf-8")
    except (ValueError, IndexError, zlib.error):
        return None


def _png_text_upright(cid: bytes, data: bytes) -> bytes:
    """A text chunk's data with any orientation it carries set to 1 (same chunk type)."""
    keyword = data.split(b"\x00", 1)[0]
    if keyword not in (b"XML:com.adobe.xmp", b"Raw profile type exif"):
        return data
    text = _png_text(cid, data)
    if text is None:
        return data
    fix = _xmp_upright if keyword.startswith(b"XML") else _raw_profile_upright
    new = fix(text[1])
    if new == text[1]:
        return data
    if cid == b"tEXt":
        return keyword + b"\x00" + new.encode("latin-1")
    if cid == b"zTXt":
        return keyword + b"\x00\x00" + zlib.compress(new.encode("latin-1"))
    flag = data[len(keyword) + 1]
    tail = data[len(keyword) + 3 :]
    lang, translated, _ = tail.split(b"\x00", 2)
    body = new.encode("utf-8")
    return (
        keyword
        + b"\x00"
        + data[len(keyword) + 1 : len(keyword) + 3]
        + lang
        + b"\x00"
        + translated
        + b"\x00"
        + (zlib.compress(body) if flag else body)
    )


# --------------------------------------------------------------------------- save settings


def _png_params(im: Image.Image, src: Path, upright: bool) -> dict[str, Any]:
    chunks = _png_chunks(src, _PNG_COPY | {b"IHDR"})
    depth = chunks[0][1][8] if chunks and chunks[0][0] == b"IHDR" else 8
    reduced = depth == 16 and im.mode not in ("I", "I;16", "I;16B", "I;16L")
    info = PngImagePlugin.PngInfo()
    for cid, data, after in chunks:
        if cid == b"IHDR" or (reduced and cid in _PNG_DEPTH_BOUND):
            continue
        if upright and cid in _PNG_TEXT:
            data = _png_text_upright(cid, data)
        info.add(cid, data, after_idat=after)
    params: dict[str, Any] = {"pnginfo": info}
    if icc := im.info.get("icc_profile"):
        params["icc_profile"] = icc
    if exif := im.info.get("exif"):
        params["exif"] = _exif_upright(exif) if upright else exif
    if dpi := im.info.get("dpi"):
        params["dpi"] = dpi
    return params


def _jpeg_params(im: Image.Image, src: Path, upright: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    qtables = getattr(im, "quantization", None)
    if qtables:
        params["qtables"] = qtables
        params["subsampling"] = JpegImagePlugin.get_sampling(im)
    else:
        params["quality"] = _HIGH_QUALITY
    if im.info.get("progressive") or im.info.get("progression"):
        params["progressive"] = True
    if im.info.get("jfif_unit") in (1, 2) and "dpi" in im.info:
        params["dpi"] = im.info["dpi"]
    for key in ("icc_profile", "comment"):
        if value := im.info.get(key):
            params[key] = value
    if exif := im.info.get("exif"):
        params["exif"] = _exif_upright(exif) if upright else exif
    if xmp := im.info.get("xmp"):
        params["xmp"] = _xmp_upright(xmp) if upright else xmp
    return params


def _webp_params(im: Image.Image, src: Path, upright: bool) -> dict[str, Any]:
    params: dict[str, Any]
    if _webp_is_lossless(src):
        params = {"lossless": True, "exact": True}
    else:
        params = {"quality": _HIGH_QUALITY}
    if icc := im.info.get("icc_profile"):
        params["icc_profile"] = icc
    if exif := im.info.get("exif"):
        params["exif"] = _exif_upright(exif) if upright else exif
    if xmp := im.info.get("xmp"):
        params["xmp"] = _xmp_upright(xmp) if upright else xmp
    return params


def _tiff_params(im: Image.Image, src: Path, upright: bool) -> dict[str, Any]:
    compression = im.info.get("compression") or "raw"
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    source = getattr(im, "tag_v2", {})
    keep = [*_TIFF_KEEP]
    if compression in ("tiff_lzw", "tiff_adobe_deflate", "tiff_deflate"):
        keep.append(_TIFF_PREDICTOR)
    for tag in keep:
        if tag in source:
            tags[tag] = source[tag]
            tags.tagtype[tag] = source.tagtype[tag]
    if upright:
        tags[ORIENTATION] = 1
        if _TIFF_XMP in tags:
            tags[_TIFF_XMP] = _xmp_upright(tags[_TIFF_XMP])
    params: dict[str, Any] = {"compression": compression, "tiffinfo": tags}
    if compression in ("jpeg", "tiff_jpeg"):
        params["quality"] = _HIGH_QUALITY
    if icc := im.info.get("icc_profile"):
        params["icc_profile"] = icc
    return params


_SAVE_PARAMS: dict[str, Callable[[Image.Image, Path, bool], dict[str, Any]]] = {
    "PNG": _png_params,
    "JPEG": _jpeg_params,
    "WEBP": _webp_params,
    "TIFF": _tiff_params,
}


def _webp_is_lossless(path: Path) -> bool:
    """True when the WebP's image data is VP8L (lossless); False for VP8 or unknown."""
    with open(path, "rb") as f:
        if f.read(12)[8:] != b"WEBP":
            return False
        while len(header := f.read(8)) == 8:
            fourcc, size = struct.unpack("<4sI", header)
            if fourcc == b"VP8L":
                return True
            if fourcc == b"VP8 ":
                return False
            f.seek(size + (size & 1), os.SEEK_CUR)
    return False


# --------------------------------------------------------------------------- file writing


def _write_atomically(
    dest: Path,
    write: Callable[[BinaryIO], None],
    *,
    mode: int | None = None,
    stat_from: Path | None = None,
) -> None:
    """Write ``dest`` through a temporary file in its folder, fsync, ``os.replace``.

    On any failure (including KeyboardInterrupt) the temporary file is removed
    and ``dest`` is untouched.
    """
    folder = dest.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name[:200]}.tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if stat_from is not None:
                shutil.copystat(stat_from, tmp)
            elif mode is not None:
                os.chmod(tmp, mode)
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsio.fsync_dir(folder)


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
    if head.startswith(_PNG_SIGNATURE):
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
