"""`multicrop` with the shaping and suggestion flags, without a window: what lands on disk,
and a one-line error for each bad flag."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from procs import run_multicrop as run
from procs import stop_daemon

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _stop_spawned_daemon(endpoint: str):
    yield
    stop_daemon(endpoint)


@pytest.mark.parametrize(("args", "says"), [
    (["--fit", "bucket:big"], "the bucket AREA must be a whole number"),
    (["--fit", "bucket:1024", "--max-side", "512"], "cannot be used together"),
    (["--exact", "12"], "--exact takes WxH"),
    (["--upscale"], "--upscale needs a shape"),
    (["--png-level", "11"], "--png-level takes 0-9"),
    (["--suggest", "magic"], "--suggest takes off or saliency"),
    (["--auto", "guess"], "--auto takes keep, center or suggest"),
])
def test_a_bad_flag_is_one_line_and_exit_1(tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "w").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "w" / "a.png")
    result = run(str(tmp_path / "w"), "--auto", "keep", *args, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr


def test_auto_suggest_with_a_bucket_shape(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    work = tmp_path / "set"
    work.mkdir()
    places = (150, 800, 1450)
    for index, x in enumerate(places):
        picture = Image.new("RGB", (1600, 900), (90, 110, 100))
        ImageDraw.Draw(picture).ellipse((x - 60, 400, x + 60, 520), fill=(255, 0, 0))
        picture.save(work / f"p{index}.png")
    result = run(str(work), "--auto", "suggest", "--aspect", "1:1", "--fit", "bucket:512:64",
                 "--png-level", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Outputs are shaped: bucket:512:64" in result.stdout
    for index in range(3):
        out = Image.open(tmp_path / "set_cropped" / f"p{index}.png").convert("RGB")
        assert out.size == (512, 512)
        red = [(x, y) for x in range(0, 512, 4) for y in range(0, 512, 4)
               if out.getpixel((x, y))[0] > 200 and out.getpixel((x, y))[1] < 60]
        assert red, f"the object is not in the crop of p{index}.png"
