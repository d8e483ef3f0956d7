"""imageops: crops keep format and metadata, copies are byte-identical, and no
failure ever leaves a half file under the real name. Generated images only."""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import os
import random
import stat
import struct
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import (
    Image,
    ImageCms,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
)

from crop_client import image_metadata, imageops
from crop_client.imageops import ImageError

pytestmark = pytest.mark.timeout(60)

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP_TEMPLATE = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    'tiff:Orientation="{}" tiff:Make="XmpCam"/></rdf:RDF></x:xmpmeta>'
)


# --------------------------------------------------------------------------- helpers


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """Deterministic random pixels: any misplaced pixel shows."""
    bands = len(Image.new(mode, (1, 1)).getbands())
    data = random.Random(seed).randbytes(size[0] * size[1] * bands)
    return Image.frombytes(mode, size, data)


def quadrants(size: tuple[int, int]) -> Image.Image:
    """Four flat colours (red, green / blue, white): survives JPEG, shows any turn."""
    w, h = size
    im = Image.new("RGB", size, (255, 255, 255))
    im.paste((255, 0, 0), (0, 0, w // 2, h // 2))
    im.paste((0, 255, 0), (w // 2, 0, w, h // 2))
    im.paste((0, 0, 255), (0, h // 2, w // 2, h))
    return im


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def png_chunks(path: Path) -> list[tuple[bytes, bytes]]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        length, cid = struct.unpack(">I4s", data[pos : pos + 8])
        chunks.append((cid, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_chunk(cid: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + cid + data + struct.pack(">I", zlib.crc32(cid + data))


def insert_after_idat(path: Path, *chunks: tuple[bytes, bytes]) -> None:
    """Put extra chunks between the last IDAT and IEND (Pillow never writes there)."""
    data = path.read_bytes()
    iend = data.rindex(b"IEND") - 4
    extra = b"".join(png_chunk(cid, body) for cid, body in chunks)
    path.write_bytes(data[:iend] + extra + data[iend:])


def webp_chunks(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    found, pos = [], 12
    while pos + 8 <= len(data):
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        found.append(fourcc)
        pos += 8 + size + (size & 1)
    return found


def exif_with(orientation: int | None = None, **tags: object) -> Image.Exif:
    exif = Image.Exif()
    exif[271] = "TestCam"  # Make
    exif[272] = "Model 1"  # Model
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal, Exif IFD
    if orientation is not None:
        exif[image_metadata.ORIENTATION] = orientation
    return exif


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp-" in p.name]


def diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0 = identical)."""
    assert a.size == b.size
    pa, pb = a.convert("RGB").tobytes(), b.convert("RGB").tobytes()
    return sum(abs(x - y) for x, y in zip(pa, pb, strict=True)) / len(pa)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "work_cropped"
    folder.mkdir()
    return folder


# --------------------------------------------------------------------------- PNG


def test_png_crop_keeps_text_chunks_icc_dpi_and_exif(work: Path, out: Path) -> None:
    src, dest = work / "a.png", out / "a.png"
    im = noise((80, 60))
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a prompt, masterpiece")
    info.add_text("Comment", "compressed words " * 20, zip=True)
    info.add_itxt("Description", "été ☀", lang="fr", tkey="Beschreibung")
    info.add_itxt("Packed", "squeezed " * 30, zip=True)
    exif = exif_with()
    im.save(src, pnginfo=info, icc_profile=ICC, dpi=(300, 300), exif=exif)
    before = sha256(src)

    imageops.crop_image(src, dest, (10, 5, 50, 45))

    assert sha256(src) == before
    with Image.open(src) as a, Image.open(dest) as b:
        assert b.format == "PNG"
        assert b.size == (40, 40)
        assert b.tobytes() == a.crop((10, 5, 50, 45)).tobytes()
        b.load()
        assert b.text == a.text
        assert b.text["Description"].lang == "fr"
        assert b.text["Description"].tkey == "Beschreibung"
        assert b.info["icc_profile"] == ICC
        assert tuple(round(v) for v in b.info["dpi"]) == (300, 300)
        assert b.info["exif"] == a.info["exif"]
        assert b.getexif()[271] == "TestCam"
    # Each text chunk keeps its own kind (tEXt stays tEXt, compressed stays compressed).
    kinds = {}
    for cid, data in png_chunks(dest):
        if cid in (b"tEXt", b"zTXt", b"iTXt"):
            key = data.split(b"\0", 1)[0].decode()
            kinds[key] = (cid, data[len(key) + 1] if cid == b"iTXt" else None)
    assert kinds == {
        "parameters": (b"tEXt", None),
        "Comment": (b"zTXt", None),
        "Description": (b"iTXt", 0),
        "Packed": (b"iTXt", 1),
    }
    assert no_temp_files(out)


def test_png_text_after_the_pixels_is_kept(work: Path, out: Path) -> None:
    src, dest = work / "late.png", out / "late.png"
    noise((20, 20)).save(src)
    insert_after_idat(src, (b"tEXt", b"late\x00written after the image data"))

    imageops.crop_image(src, dest, (0, 0, 10, 10))

    with Image.open(dest) as b:
        b.load()
        assert b.text == {"late": "written after the image data"}


def test_png_gamma_and_chromaticity_chunks_are_copied(work: Path, out: Path) -> None:
    src, dest = work / "g.png", out / "g.png"
    info = PngImagePlugin.PngInfo()
    gama = struct.pack(">I", 45455)
    chrm = struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
    info.add(b"gAMA", gama)
    info.add(b"cHRM", chrm)
    noise((16, 16)).save(src, pnginfo=info)

    imageops.crop_image(src, dest, (2, 2, 8, 8))

    chunks = dict(png_chunks(dest))
    assert chunks[b"gAMA"] == gama
    assert chunks[b"cHRM"] == chrm
    assert b"tIME" not in chunks


def test_png_palette_with_transparency(work: Path, out: Path) -> None:
    src, dest = work / "p.png", out / "p.png"
    im = noise((30, 30), "L").quantize(16)
    im.save(src, transparency=3)

    imageops.crop_image(src, dest, (5, 5, 25, 20))

    with Image.open(src) as a, Image.open(dest) as b:
        assert b.mode == "P"
        assert b.info["transparency"] == 3
        assert b.getpalette() == a.getpalette()
        assert b.tobytes() == a.crop((5, 5, 25, 20)).tobytes()


def test_png_16_bit_grey_stays_16_bit(work: Path, out: Path) -> None:
    src, dest = work / "deep.png", out / "deep.png"
    data = random.Random(3).randbytes(24 * 16 * 2)
    Image.frombytes("I;16", (24, 16), data).save(src)

    imageops.crop_image(src, dest, (4, 4, 20, 12))

    with Image.open(src) as a, Image.open(dest) as b:
        assert b.mode == a.mode
        assert png_chunks(dest)[0][1][8] == 16  # IHDR bit depth
        assert b.tobytes() == a.crop((4, 4, 20, 12)).tobytes()


# --------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_crops_in_the_displayed_frame(
    work: Path, out: Path, orientation: int
) -> None:
    src, dest = work / f"o{orientation}.png", out / f"o{orientation}.png"
    noise((37, 23), seed=orientation).save(src, exif=exif_with(orientation))
    with Image.open(src) as im:
        shown = ImageOps.exif_transpose(im)
    assert imageops.oriented_size(src) == shown.size
    box = (3, 5, shown.width - 4, shown.height - 2)

    imageops.crop_image(src, dest, box)

    with Image.open(dest) as b:
        assert b.size == (box[2] - box[0], box[3] - box[1])
        assert b.tobytes() == shown.crop(box).tobytes()
        assert b.getexif()[image_metadata.ORIENTATION] == 1
        assert b.getexif()[271] == "TestCam"
        # Shown again by a viewer that honours EXIF: no second turn.
        assert ImageOps.exif_transpose(b).tobytes() == shown.crop(box).tobytes()


@settings(max_examples=150, deadline=None)
@given(
    width=st.integers(1, 9),
    height=st.integers(1, 9),
    orientation=st.integers(1, 8),
    data=st.data(),
)
def test_box_mapping_agrees_with_exif_transpose(
    width: int, height: int, orientation: int, data: st.DataObject
) -> None:
    im = noise((width, height), seed=width * 100 + height)
    method = image_metadata.TRANSPOSE.get(orientation)
    shown = im.transpose(method) if method is not None else im
    left = data.draw(st.integers(0, shown.width - 1))
    right = data.draw(st.integers(left + 1, shown.width))
    top = data.draw(st.integers(0, shown.height - 1))
    bottom = data.draw(st.integers(top + 1, shown.height))
    box = (left, top, right, bottom)
    part = im.crop(imageops._raw_box(box, orientation, im.size))
    if method is not None:
        part = part.transpose(method)
    assert part.tobytes() == shown.crop(box).tobytes()


def test_oriented_size_reads_no_pixels(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    late = work / "late.png"
    noise((40, 20)).save(late)
    exif = exif_with(6).tobytes()
    insert_after_idat(late, (b"eXIf", exif[6:] if exif.startswith(b"Exif") else exif))
    jpeg = work / "j.jpg"
    quadrants((40, 20)).save(jpeg, exif=exif_with(8))
    plain = work / "plain.png"
    noise((40, 20)).save(plain)
    with Image.open(late) as im:  # Pillow itself, decoding everything, agrees
        assert ImageOps.exif_transpose(im).size == (20, 40)

    def no_decoding(self: Image.Image) -> None:
        raise AssertionError("oriented_size decoded the pixels")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", no_decoding)
    assert imageops.oriented_size(late) == (20, 40)
    assert imageops.oriented_size(jpeg) == (20, 40)
    assert imageops.oriented_size(plain) == (40, 20)


def test_orientation_from_xmp_alone_is_honoured_and_reset(work: Path, out: Path) -> None:
    src, dest = work / "x.png", out / "x.png"
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_TEMPLATE.format(6))
    noise((30, 20)).save(src, pnginfo=info)
    with Image.open(src) as im:
        shown = ImageOps.exif_transpose(im)
    assert shown.size == (20, 30)
    assert imageops.oriented_size(src) == (20, 30)

    imageops.crop_image(src, dest, (0, 0, 20, 15))

    with Image.open(dest) as b:
        assert b.tobytes() == shown.crop((0, 0, 20, 15)).tobytes()
        b.load()
        assert 'tiff:Orientation="1"' in b.text["XML:com.adobe.xmp"]
        assert 'tiff:Make="XmpCam"' in b.text["XML:com.adobe.xmp"]
        assert ImageOps.exif_transpose(b).size == (20, 15)


def test_orientation_from_an_imagemagick_raw_profile(work: Path, out: Path) -> None:
    src, dest = work / "im.png", out / "im.png"
    data = exif_with(8).tobytes()
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(data):8}\n{data.hex()}\n", zip=True)
    noise((30, 20)).save(src, pnginfo=info)
    with Image.open(src) as im:
        shown = ImageOps.exif_transpose(im)
    assert shown.size == (20, 30)
    assert imageops.oriented_size(src) == (20, 30)

    imageops.crop_image(src, dest, (2, 3, 20, 30))

    with Image.open(dest) as b:
        assert b.tobytes() == shown.crop((2, 3, 20, 30)).tobytes()
        assert b.getexif()[image_metadata.ORIENTATION] == 1
        assert b.getexif()[271] == "TestCam"
        assert ImageOps.exif_transpose(b).size == (18, 27)
    assert b"zTXt" in dict(png_chunks(dest))


# --------------------------------------------------------------------------- JPEG


def test_jpeg_orientation_6_box_in_rotated_frame(work: Path, out: Path) -> None:
    src, dest = work / "photo.jpg", out / "photo.jpg"
    quadrants((64, 32)).save(
        src, quality=90, subsampling=0, exif=exif_with(6), icc_profile=ICC, dpi=(240, 240)
    )
    assert imageops.oriented_size(src) == (32, 64)
    with Image.open(src) as im:
        source_tables = im.quantization
        shown = ImageOps.exif_transpose(im)
    box = (0, 16, 32, 64)  # the lower three quarters of the upright picture

    imageops.crop_image(src, dest, box)

    with Image.open(dest) as b:
        assert b.format == "JPEG"
        assert b.size == (32, 48)
        exif = b.getexif()
        assert exif[image_metadata.ORIENTATION] == 1
        assert exif[271] == "TestCam"
        assert exif.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
        assert b.quantization == source_tables
        assert JpegImagePlugin.get_sampling(b) == 0
        assert b.info["icc_profile"] == ICC
        assert b.info["dpi"] == (240, 240)
        assert diff(b, shown.crop(box)) < 4
        # Upright: red/green were the top half of the stored picture, so after a
        # quarter turn clockwise red is top-right and blue is top-left.
        assert shown.getpixel((28, 4))[0] > 200
        r, g, bl = b.getpixel((4, 4))
        assert bl > 200 and r < 60
        r, g, bl = b.getpixel((28, 44))
        assert g > 200 and r < 60


def test_jpeg_without_turn_keeps_exif_bytes_tables_and_settings(work: Path, out: Path) -> None:
    src, dest = work / "p.jpg", out / "p.jpg"
    quadrants((96, 64)).save(
        src,
        quality=70,
        subsampling=2,
        progressive=True,
        exif=exif_with(1),
        comment=b"shot on a test",
        dpi=(72, 72),
    )

    imageops.crop_image(src, dest, (16, 16, 80, 48))

    with Image.open(src) as a, Image.open(dest) as b:
        assert b.size == (64, 32)
        assert b.quantization == a.quantization
        assert JpegImagePlugin.get_sampling(b) == JpegImagePlugin.get_sampling(a) == 2
        assert b.info["exif"] == a.info["exif"]
        assert b.info.get("progressive")
        assert b.info["comment"] == b"shot on a test"
        assert diff(b, a.crop((16, 16, 80, 48))) < 6


def test_jpeg_carrying_extra_pictures_is_written_as_plain_jpeg(work: Path, out: Path) -> None:
    src, dest = work / "phone.jpg", out / "phone.jpg"
    quadrants((64, 64)).save(src, "MPO", save_all=True, append_images=[noise((32, 32))])
    with Image.open(src) as im:
        assert im.format == "MPO" and im.n_frames == 2

    imageops.crop_image(src, dest, (0, 0, 32, 32))

    with Image.open(dest) as b:
        assert b.format == "JPEG"
        assert b.size == (32, 32)
        assert b.getpixel((16, 16))[0] > 200  # the red quadrant of the main picture


# --------------------------------------------------------------------------- WebP, TIFF


def test_webp_lossless_round_trip_stays_lossless(work: Path, out: Path) -> None:
    src, dest = work / "w.webp", out / "w.webp"
    noise((40, 30), "RGBA").save(src, lossless=True, exact=True, exif=exif_with(), icc_profile=ICC)
    assert "VP8L" in {c.decode() for c in webp_chunks(src)}

    imageops.crop_image(src, dest, (5, 5, 35, 25))

    assert b"VP8L" in webp_chunks(dest)
    assert b"VP8 " not in webp_chunks(dest)
    with Image.open(src) as a, Image.open(dest) as b:
        assert b.format == "WEBP"
        assert b.size == (30, 20)
        assert b.tobytes() == a.crop((5, 5, 35, 25)).tobytes()
        assert b.info["icc_profile"] == ICC
        assert b.getexif()[271] == "TestCam"


def test_webp_lossy_round_trip_stays_lossy(work: Path, out: Path) -> None:
    src, dest = work / "w.webp", out / "w.webp"
    quadrants((64, 48)).save(src, quality=80, icc_profile=ICC, exif=exif_with(3))

    imageops.crop_image(src, dest, (0, 0, 32, 24))

    assert b"VP8 " in webp_chunks(dest)
    with Image.open(src) as a, Image.open(dest) as b:
        shown = ImageOps.exif_transpose(a)
        assert b.size == (32, 24)
        assert b.info["icc_profile"] == ICC
        assert b.getexif()[image_metadata.ORIENTATION] == 1
        assert diff(b, shown.crop((0, 0, 32, 24))) < 6


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"])
def test_tiff_round_trip_keeps_compression_and_tags(
    work: Path, out: Path, compression: str
) -> None:
    src, dest = work / "t.tif", out / "t.tif"
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[270] = "a scanned page"  # ImageDescription
    tags[305] = "scanner 2.0"  # Software
    tags[33432] = "(c) test"  # Copyright
    noise((50, 40)).save(
        src, compression=compression, tiffinfo=tags, dpi=(600, 600), icc_profile=ICC
    )

    imageops.crop_image(src, dest, (10, 10, 40, 30))

    with Image.open(src) as a, Image.open(dest) as b:
        assert b.format == "TIFF"
        assert b.info["compression"] == compression
        assert b.size == (30, 20)
        assert b.tobytes() == a.crop((10, 10, 40, 30)).tobytes()
        assert b.tag_v2[270] == "a scanned page"
        assert b.tag_v2[305] == "scanner 2.0"
        assert b.tag_v2[33432] == "(c) test"
        assert tuple(float(v) for v in b.info["dpi"]) == (600.0, 600.0)
        assert b.info["icc_profile"] == ICC


def test_tiff_with_orientation_is_cropped_upright(work: Path, out: Path) -> None:
    src, dest = work / "t.tif", out / "t.tif"
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[274] = 6
    tags[700] = XMP_TEMPLATE.format(6).encode()
    noise((40, 24)).save(src, compression="tiff_lzw", tiffinfo=tags)
    with Image.open(src) as im:
        shown = ImageOps.exif_transpose(im)
    assert shown.size == (24, 40)
    assert imageops.oriented_size(src) == (24, 40)

    imageops.crop_image(src, dest, (4, 10, 20, 40))

    with Image.open(dest) as b:
        assert b.getexif().get(image_metadata.ORIENTATION, 1) == 1
        assert b.tobytes() == shown.crop((4, 10, 20, 40)).tobytes()
        assert ImageOps.exif_transpose(b).size == (16, 30)
        assert b'tiff:Orientation="1"' in b.tag_v2[700]


def test_multi_frame_images_are_refused(work: Path, out: Path) -> None:
    src = work / "pages.tif"
    noise((20, 20)).save(src, save_all=True, append_images=[noise((20, 20), seed=2)])
    with pytest.raises(ImageError, match="2 frames"):
        imageops.crop_image(src, out / "pages.tif", (0, 0, 10, 10))
    assert not (out / "pages.tif").exists()


def test_unsupported_format_is_refused(work: Path, out: Path) -> None:
    src = work / "really_a_gif.png"
    noise((20, 20), "L").save(src, "GIF")
    with pytest.raises(ImageError, match="cannot crop GIF images"):
        imageops.crop_image(src, out / "x.png", (0, 0, 10, 10))


# --------------------------------------------------------------------------- boxes


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((0, 0, 41, 30), "outside the image"),
        ((-1, 0, 10, 10), "outside the image"),
        ((0, 0, 40, 31), "outside the image"),
        ((10, 10, 10, 20), "empty"),
        ((10, 20, 30, 5), "empty"),
        ((0, 0, 10), "left, top, right, bottom"),
        ((0.0, 0, 10, 10), "whole pixels"),
        ((True, 0, 10, 10), "left, top, right, bottom"),
    ],
)
def test_bad_box_raises_value_error(work: Path, out: Path, box: tuple, message: str) -> None:
    src = work / "a.png"
    noise((40, 30)).save(src)
    with pytest.raises(ValueError, match=message):
        imageops.crop_image(src, out / "a.png", box)
    assert list(out.iterdir()) == []


def test_box_is_checked_in_the_displayed_frame(work: Path, out: Path) -> None:
    src = work / "turned.png"
    noise((40, 20)).save(src, exif=exif_with(6))  # shown 20 wide, 40 high
    with pytest.raises(ValueError, match=r"outside the image \(20x40\)"):
        imageops.crop_image(src, out / "a.png", (0, 0, 40, 20))
    imageops.crop_image(src, out / "a.png", (0, 0, 20, 40))
    assert Image.open(out / "a.png").size == (20, 40)


def test_is_full_image() -> None:
    assert imageops.is_full_image((0, 0, 40, 30), (40, 30))
    assert imageops.is_full_image([0, 0, 40, 30], (40, 30))
    assert not imageops.is_full_image((0, 0, 40, 29), (40, 30))
    assert not imageops.is_full_image((1, 0, 40, 30), (40, 30))
    assert not imageops.is_full_image((0, 0, 30, 40), (40, 30))


def test_cropping_onto_the_source_is_refused(work: Path) -> None:
    src = work / "a.png"
    noise((20, 20)).save(src)
    before = sha256(src)
    with pytest.raises(ValueError, match="same file"):
        imageops.crop_image(src, src, (0, 0, 10, 10))
    assert sha256(src) == before


# --------------------------------------------------------------------------- unreadable sources


@functools.cache
def png_bytes() -> bytes:
    buffer = io.BytesIO()
    noise((64, 64)).save(buffer, "PNG")
    return buffer.getvalue()


def flipped(data: bytes, start: int, end: int) -> bytes:
    return data[:start] + bytes(b ^ 0xFF for b in data[start:end]) + data[end:]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: png_bytes()[: len(png_bytes()) // 2], "cannot read image: truncated PNG"),
        (lambda: png_bytes()[:30], "cannot read image: damaged or truncated PNG"),
        (lambda: b"", "cannot read image: empty file"),
        (lambda: b"name: not an image\n", "cannot read image: not an image"),
        (lambda: flipped(png_bytes(), 60, 90), "cannot read image: damaged PNG"),
    ],
    ids=["truncated", "truncated-header", "empty", "text", "corrupt-data"],
)
def test_unreadable_source_raises_image_error(
    work: Path, out: Path, make: object, reason: str
) -> None:
    src = work / "bad.png"
    src.write_bytes(make())  # type: ignore[operator]
    with pytest.raises(ImageError) as caught:
        imageops.crop_image(src, out / "bad.png", (0, 0, 8, 8))
    message = str(caught.value)
    assert message.startswith(reason)
    assert "\n" not in message
    assert "<" not in message  # no object reprs for people to read
    assert list(out.iterdir()) == []


def test_oriented_size_of_unreadable_or_missing_file(work: Path) -> None:
    (work / "junk.png").write_bytes(b"\x00" * 100)
    with pytest.raises(ImageError, match=r"^cannot read image: not an image"):
        imageops.oriented_size(work / "junk.png")
    with pytest.raises(ImageError, match=r"^cannot read image: file not found$"):
        imageops.oriented_size(work / "gone.png")
    with pytest.raises(ImageError, match=r"^cannot read image: file not found$"):
        imageops.crop_image(work / "gone.png", work / "out.png", (0, 0, 1, 1))


# --------------------------------------------------------------------------- safe writing


def test_output_goes_through_a_hidden_temp_name_in_the_destination_folder(
    work: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = work / "a.png"
    noise((20, 20)).save(src)
    seen: list[tuple[Path, Path, bool]] = []
    real_replace = os.replace

    def spy(a: str, b: str) -> None:
        seen.append((Path(a), Path(b), Path(a).stat().st_size > 0))
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", spy)
    imageops.crop_image(src, out / "a.png", (0, 0, 10, 10))
    imageops.copy_file(src, out / "b.png")

    assert len(seen) == 2
    for tmp, final, written in seen:
        assert tmp.parent == out
        assert tmp.name.startswith(f".{final.name}.tmp-")
        assert written
    assert no_temp_files(out)


@pytest.mark.parametrize("operation", ["crop", "copy"])
@pytest.mark.parametrize("existing", [False, True])
def test_failed_replace_leaves_no_temp_and_dest_untouched(
    work: Path, out: Path, monkeypatch: pytest.MonkeyPatch, operation: str, existing: bool
) -> None:
    src, dest = work / "a.png", out / "a.png"
    noise((30, 30)).save(src)
    if existing:
        dest.write_bytes(b"the earlier output")

    def refuse(a: str, b: str) -> None:
        raise OSError(errno.EIO, "simulated failure")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="simulated failure"):
        if operation == "crop":
            imageops.crop_image(src, dest, (0, 0, 10, 10))
        else:
            imageops.copy_file(src, dest)

    assert no_temp_files(out)
    if existing:
        assert dest.read_bytes() == b"the earlier output"
    else:
        assert not dest.exists()


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "disk full"), KeyboardInterrupt()])
def test_failure_in_the_middle_of_the_save(
    work: Path, out: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    src, dest = work / "a.png", out / "a.png"
    noise((30, 30)).save(src)
    dest.write_bytes(b"old")
    real_save = Image.Image.save

    def half_then_fail(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG half a file")  # type: ignore[attr-defined]
        raise error

    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    with pytest.raises(type(error)):
        imageops.crop_image(src, dest, (0, 0, 10, 10))
    monkeypatch.setattr(Image.Image, "save", real_save)

    assert no_temp_files(out)
    assert dest.read_bytes() == b"old"


def test_crop_takes_the_source_permissions(work: Path, out: Path) -> None:
    src = work / "a.png"
    noise((20, 20)).save(src)
    os.chmod(src, 0o640)
    imageops.crop_image(src, out / "a.png", (0, 0, 5, 5))
    assert stat.S_IMODE((out / "a.png").stat().st_mode) == 0o640


# --------------------------------------------------------------------------- copy and move


def test_copy_file_is_byte_identical_and_keeps_mtime(work: Path, out: Path) -> None:
    src, dest = work / "a.png", out / "a.png"
    noise((64, 64)).save(src, pnginfo=PngImagePlugin.PngInfo())
    companion = work / "a.yaml"
    companion.write_bytes("caption: ünïcode\r\nno newline at end".encode())
    old = time.time() - 86400 * 3
    for path in (src, companion):
        os.utime(path, (old, old))
    os.chmod(src, 0o644)
    hashes = {p: sha256(p) for p in (src, companion)}

    imageops.copy_file(src, dest)
    imageops.copy_file(companion, out / "a.yaml")

    for path in (src, companion):
        copy = out / path.name
        assert sha256(copy) == hashes[path]
        assert sha256(path) == hashes[path]  # the original is unchanged
        assert path.stat().st_mtime == pytest.approx(old, abs=1e-3)
        assert copy.stat().st_mtime == pytest.approx(old, abs=1e-3)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert no_temp_files(out)


def test_copy_file_replaces_an_earlier_copy_and_copies_empty_files(work: Path, out: Path) -> None:
    src = work / "a.txt"
    src.write_bytes(b"new content")
    (out / "a.txt").write_bytes(b"an older, longer content that must not survive")
    imageops.copy_file(src, out / "a.txt")
    assert (out / "a.txt").read_bytes() == b"new content"
    empty = work / "empty.caption"
    empty.write_bytes(b"")
    imageops.copy_file(empty, out / "empty.caption")
    assert (out / "empty.caption").read_bytes() == b""


def test_copy_file_without_kernel_copy(
    work: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = work / "big.bin"
    src.write_bytes(random.Random(5).randbytes(3 * 1024 * 1024 + 7))

    def unsupported(*args: object) -> int:
        raise OSError(errno.ENOSYS, "not here")

    monkeypatch.setattr(os, "copy_file_range", unsupported, raising=False)
    monkeypatch.setattr(os, "sendfile", unsupported, raising=False)
    imageops.copy_file(src, out / "big.bin")
    assert sha256(out / "big.bin") == sha256(src)


def test_move_file_on_one_filesystem(work: Path, out: Path) -> None:
    src = work / "a.png"
    noise((20, 20)).save(src)
    digest = sha256(src)
    imageops.move_file(src, out / "a.png")
    assert not src.exists()
    assert sha256(out / "a.png") == digest


def test_move_file_across_filesystems_copies_then_unlinks(
    work: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = work / "a.png"
    noise((20, 20)).save(src)
    digest = sha256(src)
    real_replace = os.replace
    refused: list[str] = []

    def cross_device(a: str, b: str) -> None:
        if Path(a) == src:
            refused.append(str(a))
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", cross_device)
    imageops.move_file(src, out / "a.png")

    assert refused == [str(src)]
    assert not src.exists()
    assert sha256(out / "a.png") == digest
    assert no_temp_files(out)


def test_move_file_failure_other_than_cross_device_keeps_source(work: Path, out: Path) -> None:
    src = work / "a.png"
    src.write_bytes(b"data")
    with pytest.raises(FileNotFoundError):
        imageops.move_file(src, out / "missing_folder" / "a.png")
    assert src.read_bytes() == b"data"


def test_remove_stale_temp_files(out: Path) -> None:
    old = time.time() - 7200
    stale = out / ".a.png.tmp-abcd1234"
    fresh = out / ".b.png.tmp-wxyz_789"
    keep = [out / "a.png", out / ".hidden", out / "c.tmp-abcd1234"]
    for path in (stale, fresh, *keep):
        path.write_bytes(b"x")
    os.utime(stale, (old, old))
    for path in keep:
        os.utime(path, (old, old))

    removed = imageops.remove_stale_temp_files(out)

    assert removed == [stale]
    assert not stale.exists()
    assert fresh.exists()
    assert all(path.exists() for path in keep)
    assert imageops.remove_stale_temp_files(out / "nowhere") == []
