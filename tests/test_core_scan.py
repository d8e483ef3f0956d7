"""The scan: images in file-name order, companions, the hash, and work folders."""

from __future__ import annotations

import hashlib
import os
import random
import time
from pathlib import Path

import pytest
from core_helpers import isolate_env, touch_all

from crop_progress.scan import (
    companions_in,
    directory_hash,
    group_stem,
    has_images,
    is_image_name,
    scan_directory,
    work_directories,
)

BIG = 10_000


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


def big_name(k: int) -> str:
    """Origin-style names; groups of two images share a group stem (and a `.decision`)."""
    ext = (".png", ".PNG", ".jpg", ".jpeg", ".webp", ".tif", ".TIFF", ".JPG")[k % 8]
    return f"2025{k // 2:07d}_stage{1 + k % 2}_upscaled{ext}"


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    """10,000 empty images, each with `.yaml` and `.caption`, a `.decision` per group,
    plus hidden files, non-images, a subfolder and a hidden image, created in random order."""
    folder = tmp_path_factory.mktemp("big") / "_asian"
    folder.mkdir()
    names = [big_name(k) for k in range(BIG)]
    files = []
    for name in names:
        stem = os.path.splitext(name)[0]
        files += [name, f"{stem}.yaml", f"{stem}.caption"]
    files += [f"2025{g:07d}.decision" for g in range(BIG // 2)]
    files += [".DS_Store", ".hidden.png", "notes.txt", "readme.md", "image.gif", "x.png.bak"]
    random.Random(1).shuffle(files)
    for name in files:
        fd = os.open(folder / name, os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.png").touch()
    (folder / "folder.png").mkdir()  # a folder named like an image is not an image
    return folder


def test_ten_thousand_images_with_companions(big_folder, capsys):
    started = time.perf_counter()
    scan = scan_directory(big_folder)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nscan of {BIG:,} images (+{2 * BIG + BIG // 2:,} companions and others): "
              f"{elapsed * 1000:.1f} ms")
    expected = sorted(big_name(k) for k in range(BIG))
    assert scan.images == expected
    assert len(scan.images) == BIG
    assert scan.hash == hashlib.sha256("\n".join(expected).encode()).hexdigest()
    assert scan.hash == directory_hash(list(reversed(expected)))
    first = big_name(0)  # 20250000000_stage1_upscaled.png
    assert companions_in(scan.others, first) == ["20250000000.decision",
                                      "20250000000_stage1_upscaled.caption",
                                      "20250000000_stage1_upscaled.yaml"]
    assert companions_in(scan.others, big_name(1)) == ["20250000000.decision",
                                            "20250000000_stage2_upscaled.caption",
                                            "20250000000_stage2_upscaled.yaml"]
    for name in random.Random(2).sample(expected, 200):
        stem = os.path.splitext(name)[0]
        group = group_stem(stem)
        assert companions_in(scan.others, name) == sorted([f"{group}.decision", f"{stem}.caption",
                                                f"{stem}.yaml"])
    assert scan.mtime_ns == big_folder.stat().st_mtime_ns


def test_scan_ignores_hidden_files_non_images_and_subfolders(big_folder):
    images = set(scan_directory(big_folder).images)
    for name in (".DS_Store", ".hidden.png", "notes.txt", "readme.md", "image.gif",
                 "x.png.bak", "sub", "inner.png", "folder.png"):
        assert name not in images


def test_every_extension_in_any_case():
    for ext in ("png", "jpg", "jpeg", "webp", "tif", "tiff"):
        for spelled in (ext, ext.upper(), ext.capitalize()):
            assert is_image_name(f"a.{spelled}")
    for name in ("a.gif", "a.bmp", "a.png.txt", "png", ".png", ".a.png", "a.yaml", "a"):
        assert not is_image_name(name)


def test_file_name_order_and_hash_of_sorted_names(tmp_path):
    names = ["b.png", "a.png", "B.png", "a10.png", "a2.png", "_x.png"]
    touch_all(tmp_path / "d", names)
    scan = scan_directory(tmp_path / "d")
    assert scan.images == sorted(names)
    assert scan.hash == hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()
    assert directory_hash([]) == hashlib.sha256(b"").hexdigest()
    assert directory_hash(["a.png"]) != directory_hash(["b.png"])


def test_companions_same_stem_other_extension(tmp_path):
    touch_all(tmp_path / "d", ["a.png", "a.yaml", "a.caption", "a.txt", "a.json", "a.jpg",
                               "ab.yaml", "a.png.yaml", "b.png", ".a.yaml"])
    scan = scan_directory(tmp_path / "d")
    # another image with the same stem is an image, not a companion
    assert companions_in(scan.others, "a.png") == ["a.caption", "a.json", "a.txt", "a.yaml"]
    assert companions_in(scan.others, "a.jpg") == ["a.caption", "a.json", "a.txt", "a.yaml"]
    assert companions_in(scan.others, "b.png") == []


def test_group_decision_only_by_the_part_before_stage(tmp_path):
    touch_all(tmp_path / "d", ["g1_stage2_upscaled.png", "g1.decision", "g1.yaml",
                               "plain.png", "plain.decision", "_stage.png", ".decision"])
    scan = scan_directory(tmp_path / "d")
    assert companions_in(scan.others, "g1_stage2_upscaled.png") == ["g1.decision"]
    assert companions_in(scan.others, "plain.png") == ["plain.decision"]
    assert companions_in(scan.others, "_stage.png") == []
    assert group_stem("g1_stage2_upscaled") == "g1"
    assert group_stem("_stage2") is None
    assert group_stem("nothing") is None


def test_symlinked_image_is_an_image_broken_link_is_not(tmp_path):
    folder = tmp_path / "d"
    touch_all(folder, ["real.png"])
    (folder / "link.png").symlink_to(folder / "real.png")
    (folder / "broken.png").symlink_to(tmp_path / "missing.png")
    assert scan_directory(folder).images == ["link.png", "real.png"]


def test_unreadable_folder_raises(tmp_path):
    with pytest.raises(OSError):
        scan_directory(tmp_path / "missing")


# -- work folders ------------------------------------------------------------------------------

def test_a_folder_with_images_is_its_own_work_folder(tmp_path):
    touch_all(tmp_path / "d", ["a.png"])
    touch_all(tmp_path / "d" / "sub", ["b.png"])
    assert work_directories(tmp_path / "d") == [tmp_path / "d"]


def test_work_directories_alphabetical_without_case(tmp_path):
    base = tmp_path / "base"
    for name in ("beta", "Alpha", "_asian", "gamma_cropped", ".hidden", "Delta", "alpha2",
                 "empty", "only_text"):
        (base / name).mkdir(parents=True)
    for name in ("beta", "Alpha", "_asian", "gamma_cropped", ".hidden", "Delta", "alpha2"):
        (base / name / "x.png").touch()
    (base / "only_text" / "x.txt").touch()
    (base / "x.txt").touch()
    touch_all(base / "beta" / "deeper", ["y.png"])
    assert [p.name for p in work_directories(base)] == [
        "_asian", "Alpha", "alpha2", "beta", "Delta"]
    assert has_images(base / "beta") and not has_images(base / "only_text")
    assert not has_images(tmp_path / "missing")
