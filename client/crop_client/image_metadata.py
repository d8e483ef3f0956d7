"""What a crop keeps of its original: orientation, PNG chunks, per-format save settings.

Reading an image's EXIF/XMP/PNG orientation without decoding its pixels, setting
it back to 1 when a crop was turned upright, carrying PNG text and colour chunks
across, and the `save()` parameters that keep each format's metadata and quality
(JPEG quantization tables and subsampling, WebP losslessness, TIFF compression).
`imageops` uses these when it writes a crop.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, JpegImagePlugin, PngImagePlugin, TiffImagePlugin

ORIENTATION = 0x0112  # EXIF / TIFF Orientation tag

# Orientation value -> the transpose ImageOps.exif_transpose applies for it.
TRANSPOSE: dict[int, Image.Transpose] = {
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
SAVE_AS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WEBP", "TIFF": "TIFF"}

# Lossy re-encoding where the source's own settings cannot be known.
_HIGH_QUALITY = 95

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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

# --------------------------------------------------------------------------- orientation


def orientation(im: Image.Image) -> int:
    """The orientation ``ImageOps.exif_transpose`` would apply (1 when none or unreadable)."""
    try:
        value = im.getexif().get(ORIENTATION, 1)
    except Exception:
        return 1  # damaged EXIF: show the pixels as stored
    return value if value in TRANSPOSE else 1


def png_orientation(path: Path) -> int:
    """The orientation of a PNG from its metadata chunks, without decoding pixels."""
    info: dict[str | tuple[int, int], Any] = {}
    for cid, data, _after in _png_chunks(path, {b"eXIf"} | _PNG_TEXT):
        if cid == b"eXIf":
            info["exif"] = b"Exif\x00\x00" + data
        elif (text := _png_text(cid, data)) is not None:
            info[text[0]] = text[1]
    # Let Pillow itself read it (EXIF, ImageMagick's raw profile, XMP), as it
    # does for exif_transpose.
    probe = Image.new("1", (1, 1))
    probe.info = info
    return orientation(probe)


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
        if f.read(8) != PNG_SIGNATURE:
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
    source: Any = getattr(im, "tag_v2", {})
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


SAVE_PARAMS: dict[str, Callable[[Image.Image, Path, bool], dict[str, Any]]] = {
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
