"""The window at three screen sizes (1366×768, 1920×1080, 3840×2160), each on its own Xvfb:
text, handles and buttons grow with the screen, nothing is cut off, and a screenshot of
each is kept (in $MULTICROP_SCREENSHOTS when set, for a person to look at)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from gui.gui_driver import Window, Xvfb, have_tools, image_point

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]

SCREENS = ((1366, 768, 1.0), (1920, 1080, 1.0), (3840, 2160, 2.0))


@pytest.mark.parametrize(("width", "height", "scale"), SCREENS)
def test_the_window_scales_with_the_screen(cropd_endpoint: str, tmp_path: Path, width: int,
                                           height: int, scale: float) -> None:
    problem = have_tools()
    if problem:
        pytest.skip(problem)
    folder = tmp_path / "screens"
    folder.mkdir()
    for index in range(3):
        picture = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
        ImageDraw.Draw(picture).ellipse((300 + 400 * index, 400, 600 + 400 * index, 700),
                                        fill=(255, 40, 40))
        picture.save(folder / f"shot_{index}.png")
    server = Xvfb(screen=(width, height))
    try:
        window = Window(server.display, folder, tmp_path, "--suggest", "saliency",
                        "--aspect", "1:1", "--fit", "bucket:1024:64",
                        geometry=f"{int(width * 0.9)}x{int(height * 0.88)}+0+0")
        try:
            state = window.wait_batch(timeout=30)
            assert state["scale"] == pytest.approx(scale, rel=0.1)   # Xvfb says ~100 dpi
            column = state["columns"][1]
            window.hover(*image_point(column, 800, 600))
            state = window.wait(lambda s: s["columns"][1]["loupe"], "the loupe")
            x, y, w, h = state["window"]
            for name, (bx, by, bw, bh) in state["buttons"].items():
                assert bx + bw <= x + w and by + bh <= y + h, f"{name} is cut off"
            submit = state["buttons"]["submit"]
            assert submit[3] >= 22 * scale                # taller buttons on a larger screen
            shot = window.screenshot(tmp_path / f"window_{width}x{height}.png")
            keep = os.environ.get("MULTICROP_SCREENSHOTS")
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(keep) / shot.name)
            assert window.quit() == 0
        finally:
            window.close()
    finally:
        server.stop()
