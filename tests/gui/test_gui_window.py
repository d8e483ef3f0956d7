"""The crop window as a person uses it: real Tk windows under Xvfb, real keys and mouse
(xdotool), a real daemon, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from gui.gui_driver import drawn_size, image_point, make_images, root_conftest, trash_files

pytestmark = [pytest.mark.gui, pytest.mark.timeout(90)]


def _outputs(folder: Path) -> Path:
    return folder.parent / f"{folder.name}_cropped"


def test_a_drawn_rectangle_is_cropped_at_full_resolution(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make_images(folder, 4, size=(400, 300))
    window = open_window(folder, "--per-batch", "2", "--aspect", "free")
    state = window.wait_batch()
    assert state["files"] == ["img_0000.png", "img_0001.png"]
    first, second = state["columns"]

    start, end = image_point(first, 50, 40), image_point(first, 251, 190)
    window.drag(start, end)
    expected_w, expected_h = drawn_size(first, start, end)
    # a small rectangle, then one drawn corner to corner from outside the image to outside
    # it: the whole image again, so it is kept
    window.drag(image_point(second, 100, 100), image_point(second, 200, 200))
    window.wait(lambda s: s["columns"][1]["touched"], "a small rectangle")
    top_left = image_point(second, 0, 0)
    bottom_right = image_point(second, 400, 300)
    window.drag((top_left[0] - 5, top_left[1] - 5), (bottom_right[0] + 5, bottom_right[1] + 5))
    state = window.wait(lambda s: s["columns"][1]["box"] == [0, 0, 400, 300],
                        "the whole image drawn")
    assert state["columns"][0]["touched"]
    window.screenshot(tmp_path / "drawn.png")
    window.key("Return")
    state = window.wait_batch(after=state["serial"])
    assert state["files"] == ["img_0002.png", "img_0003.png"]
    assert window.quit() == 0

    cropped = Image.open(_outputs(folder) / "img_0000.png")
    assert abs(cropped.width - expected_w) <= 1 and abs(cropped.height - expected_h) <= 1, \
        (cropped.size, expected_w, expected_h)
    whole = _outputs(folder) / "img_0001.png"
    assert whole.read_bytes() == (folder / "img_0001.png").read_bytes()   # kept, not re-encoded
    assert (_outputs(folder) / "img_0001.yaml").read_bytes() == \
        (folder / "img_0001.yaml").read_bytes()


def test_the_aspect_key_crops_to_that_aspect(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "wide"
    make_images(folder, 3, size=(480, 270))
    window = open_window(folder, "--per-batch", "1")
    state = window.wait_batch()
    assert state["aspect"] == "original (locked)"
    window.key("a")                     # original -> 1:1
    state = window.wait(lambda s: s["aspect"].startswith("1:1"), "aspect 1:1")
    window.key("Return")
    state = window.wait_batch(after=state["serial"])
    window.key("a", "a")                # 1:1 -> 4:3 -> 3:2
    state = window.wait(lambda s: s["aspect"].startswith("3:2"), "aspect 3:2")
    column = state["columns"][0]
    window.drag(image_point(column, 40, 30), image_point(column, 300, 150))
    window.wait(lambda s: s["columns"][0]["touched"], "a rectangle drawn")
    window.key("Return")
    window.wait_batch(after=state["serial"])
    assert window.quit() == 0

    square = Image.open(_outputs(folder) / "img_0000.png")
    assert square.size == (270, 270)
    three_two = Image.open(_outputs(folder) / "img_0001.png")
    assert abs(three_two.width / three_two.height - 1.5) < 0.02, three_two.size
    assert three_two.width >= 200


def test_delete_skip_keep_and_undo(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    make_images(folder, 6, size=(300, 200))
    window = open_window(folder, "--per-batch", "3")
    state = window.wait_batch()
    window.key("1", "e")                # delete image 1, skip image 2, image 3 untouched
    state = window.wait(lambda s: [c["mark"] for c in s["columns"]] == ["delete", "skip", None],
                        "marks on images 1 and 2")
    window.screenshot(tmp_path / "marked.png")
    window.key("Return")
    state = window.wait_batch(after=state["serial"])
    assert state["files"] == ["img_0003.png", "img_0004.png", "img_0005.png"]
    state = window.wait(lambda s: "(1/5)" in s["progress"][0], "one kept, one deleted")

    assert not (folder / "img_0000.png").exists()
    assert {"img_0000.png", "img_0000.yaml"} <= trash_files()
    assert (folder / "img_0001.png").exists()
    assert not (_outputs(folder) / "img_0001.png").exists()
    assert (_outputs(folder) / "img_0002.png").read_bytes() == \
        (folder / "img_0002.png").read_bytes()

    window.key("b")                     # undo: the batch comes back, marks and all
    state = window.wait(lambda s: s["phase"] == "batch" and s["files"] == [
        "img_0000.png", "img_0001.png", "img_0002.png"], "the undone batch shown again")
    assert [c["mark"] for c in state["columns"]] == ["delete", "skip", None]
    assert (folder / "img_0000.png").exists()           # back from the trash
    assert (folder / "img_0000.yaml").exists()
    assert not (_outputs(folder) / "img_0002.png").exists()

    window.key("k")                     # keep all three after all
    state = window.wait_batch(after=state["serial"])
    assert state["files"] == ["img_0003.png", "img_0004.png", "img_0005.png"]
    window.wait(lambda s: "(3/6)" in s["progress"][0], "three images completed")
    for name in ("img_0000.png", "img_0001.png", "img_0002.png"):
        assert (_outputs(folder) / name).read_bytes() == (folder / name).read_bytes()
    assert window.quit() == 0


def test_mouse_buttons_do_what_the_keys_do(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "clicks"
    make_images(folder, 3, size=(200, 200))
    window = open_window(folder, "--per-batch", "1")
    state = window.wait_batch()
    window.click_button("delete_0")
    window.wait(lambda s: s["columns"][0]["mark"] == "delete", "marked by its button")
    window.click_button("submit")
    state = window.wait_batch(after=state["serial"])
    assert not (folder / "img_0000.png").exists()
    window.click_button("help")
    window.wait(lambda s: s["help"], "the keys shown")
    window.key("Escape")
    window.wait(lambda s: not s["help"], "the keys hidden")
    window.click_button("quit")
    assert window.process.wait(20) == 0


def test_quit_warns_then_resume_shows_the_next_image(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "resume"
    make_images(folder, 5, size=(160, 120))
    window = open_window(folder, "--per-batch", "2")
    state = window.wait_batch()
    assert "Starting crop session for 'resume/'" in window.stdout()
    window.key("Return")
    state = window.wait_batch(after=state["serial"])
    window.wait(lambda s: "(2/5)" in s["progress"][0], "two images done")
    window.key("2")                                     # an unsubmitted change
    window.wait(lambda s: s["columns"][1]["mark"] == "delete", "a mark")
    window.key("q")
    window.wait(lambda s: "Unsubmitted changes" in s["alert"], "the quit warning")
    assert window.process.poll() is None
    window.key("q")
    assert window.process.wait(20) == 0
    assert (folder / "img_0003.png").exists()           # the warned-about mark was dropped

    again = open_window(folder, "--per-batch", "2", name="again")
    state = again.wait_batch()
    out = again.stdout()
    assert "Resuming crop session for 'resume/'" in out
    assert "Progress: 2/5 images completed (40%)" in out
    assert "Resuming at image 3/5..." in out
    assert state["files"] == ["img_0002.png", "img_0003.png"]
    assert any("Resuming crop session" in line for line in state["messages"])
    assert again.quit() == 0

    alone = open_window(folder, "--no-resume", name="alone")
    state = alone.wait_phase("done")
    assert "left alone (--no-resume)" in state["alert"]
    assert alone.quit() == 0


def test_two_windows_share_a_directory(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    make_images(folder, 9, size=(120, 90))
    left = open_window(folder, "--per-batch", "1", name="left", geometry="790x700+0+0")
    right = open_window(folder, "--per-batch", "1", name="right", geometry="790x700+800+0")
    states = {"left": left.wait_batch(), "right": right.wait_batch()}
    windows = {"left": left, "right": right}
    seen: dict[str, set[str]] = {"left": set(), "right": set()}
    for step in range(5):
        held = {name: set(s["files"]) | {f for b in s["waiting"] for f in b}
                for name, s in states.items()}
        assert not held["left"] & held["right"], held
        for name, state in states.items():
            seen[name].update(state["files"])
        name = ("left", "right")[step % 2]
        windows[name].key("Return")
        states[name] = windows[name].wait(
            lambda s, old=states[name]["serial"]: s["phase"] in ("batch", "done")
            and s["serial"] != old, "the next image")
    assert not seen["left"] & seen["right"]
    assert left.quit() == 0                              # its claims go back at once
    while True:
        state = right.wait(lambda s: s["phase"] in ("batch", "done"), "an image or the end")
        if state["phase"] == "done":
            break
        right.key("Return")
        right.wait(lambda s, old=state["serial"]: s["serial"] != old, "the next image")
    assert "All images processed" in state["done_text"]
    right.wait(lambda s: "(9/9)" in s["progress"][0], "all nine done")
    assert right.quit() == 0
    outputs = sorted(p.name for p in _outputs(folder).glob("*.png"))
    assert outputs == sorted(p.name for p in folder.glob("*.png"))


def test_a_decision_file_suggests_the_crop(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "suggested"
    made = make_images(folder, 2, size=(400, 200), prefix="20250803_172343_stage2")
    # named by the group stem (the part before `_stage`), as the origin tool writes them
    (folder / "20250803_172343.decision").write_text(
        json.dumps({"ai_crop_coords": [0.25, 0.0, 0.75, 1.0]}))
    made[1].with_suffix(".decision").write_text("{not json")
    window = open_window(folder, "--per-batch", "2", "--aspect", "free")
    state = window.wait_batch()
    first = state["columns"][0]
    assert first["suggested"] and first["box"] == [100.0, 0.0, 300.0, 200.0]
    assert "ignored damaged" in state["alert"]
    window.key("Return")
    window.wait(lambda s: s["phase"] == "done", "the end")
    assert window.quit() == 0
    assert Image.open(_outputs(folder) / made[0].name).size == (200, 200)


def test_n_and_p_walk_the_work_folders(open_window, tmp_path: Path) -> None:
    parent = tmp_path / "shoot"
    make_images(parent / "b_second", 2, size=(100, 80))
    make_images(parent / "a_first", 2, size=(100, 80))
    window = open_window(parent, "--per-batch", "2")
    state = window.wait_batch()
    assert state["folder"].endswith("/a_first/") and len(state["folders"]) == 2
    window.key("n")
    state = window.wait(lambda s: s["phase"] == "batch" and s["folder"].endswith("/b_second/"),
                        "the second folder")
    assert "folder 2 of 2" in window.state()["title"] + window.state()["heading"]
    window.key("p")
    state = window.wait(lambda s: s["phase"] == "batch" and s["folder"].endswith("/a_first/"),
                        "back to the first folder")
    assert state["files"] == ["img_0000.png", "img_0001.png"]   # given back when left
    window.key("Return")
    state = window.wait_phase("done")
    assert "Press n for the next folder" in state["done_text"]
    window.key("n")
    state = window.wait(lambda s: s["phase"] == "batch" and s["folder"].endswith("/b_second/"),
                        "the second folder again")
    window.key("k")
    state = window.wait_phase("done")
    assert "All images processed" in state["done_text"]
    assert window.quit() == 0
    for sub in ("a_first", "b_second"):
        assert len(list((parent / f"{sub}_cropped").glob("*.png"))) == 2


def test_without_a_display_it_says_how_to_work_without_one(tmp_path: Path) -> None:
    folder = tmp_path / "nodisplay"
    make_images(folder, 1)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "crop_client.multicrop", str(folder)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("multicrop: cannot open a window")
    assert "--auto" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_daemon_exits_2(x_display: str, tmp_path: Path) -> None:
    folder = tmp_path / "nodaemon"
    make_images(folder, 1)
    env = {**os.environ, "DISPLAY": x_display,
           "CROPD_ENDPOINT": "ipc:///proc/no-such-place/cropd.sock"}
    result = subprocess.run([sys.executable, "-m", "crop_client.multicrop", str(folder)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "daemon" in result.stderr and "Traceback" not in result.stderr


def test_the_window_carries_on_after_a_daemon_restart(open_window, daemon, progress_dir: Path,
                                                      tmp_path: Path) -> None:
    folder = tmp_path / "restart"
    make_images(folder, 4, size=(100, 80))
    window = open_window(folder, "--per-batch", "2")
    state = window.wait_batch()
    daemon.stop()                                   # the daemon goes away and comes back
    again = root_conftest().InProcessDaemon(daemon.endpoint, progress_dir, tick_seconds=0.1)
    try:
        window.key("Return")
        state = window.wait_batch(after=state["serial"])
        assert state["files"] == ["img_0002.png", "img_0003.png"]
        state = window.wait(lambda s: "(2/4)" in s["progress"][0], "two images done")
        assert any("daemon restarted" in line for line in state["messages"]), state["messages"]
        assert window.quit() == 0
    finally:
        again.stop()
        daemon.stop = lambda: None                  # already stopped
    assert sorted(p.name for p in _outputs(folder).glob("*.png")) == ["img_0000.png",
                                                                        "img_0001.png"]


def test_handles_resize_and_the_right_button_moves(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "handles"
    make_images(folder, 2, size=(400, 400))
    window = open_window(folder, "--per-batch", "1", "--aspect", "free")
    state = window.wait_batch()
    column = state["columns"][0]
    window.drag(image_point(column, 100, 100), image_point(column, 199, 199))
    state = window.wait(lambda s: s["columns"][0]["touched"], "a rectangle")
    left, _top, right, bottom = state["columns"][0]["box"]
    # the bottom-right handle, dragged 100 image pixels right and down
    window.drag(image_point(column, right, bottom), image_point(column, right + 100, bottom + 100))
    state = window.wait(lambda s: s["columns"][0]["box"][2] > right + 90, "a resized rectangle")
    resized = state["columns"][0]["box"]
    assert abs(resized[0] - left) < 1 and abs(resized[2] - (right + 100)) <= 2
    # the right button moves it from anywhere on the image
    window.drag(image_point(column, 350, 50), image_point(column, 330, 80), button=3)
    state = window.wait(lambda s: s["columns"][0]["box"][0] < resized[0] - 10, "a moved one")
    moved = state["columns"][0]["box"]
    assert abs((moved[2] - moved[0]) - (resized[2] - resized[0])) < 0.01   # same size
    assert abs(moved[0] - (resized[0] - 20)) <= 2 and abs(moved[1] - (resized[1] + 30)) <= 2
    window.key("Return")
    window.wait_batch(after=state["serial"])
    assert window.quit() == 0
    out = Image.open(_outputs(folder) / "img_0000.png")
    assert abs(out.width - (moved[2] - moved[0])) <= 1


def test_an_exif_turned_jpeg_is_cropped_as_it_is_shown(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "turned"
    folder.mkdir()
    stored = Image.new("RGB", (400, 200), (230, 20, 20))
    stored.paste((20, 20, 230), (0, 0, 200, 200))          # stored: blue left half
    exif = Image.Exif()
    exif[0x0112] = 6                                       # shown a quarter turn clockwise
    stored.save(folder / "turned.jpg", exif=exif.tobytes(), quality=95)
    window = open_window(folder, "--per-batch", "1", "--aspect", "free")
    state = window.wait_batch()
    column = state["columns"][0]
    assert column["full_size"] == [200, 400]               # tall, as shown
    # a small rectangle first (the whole image's handles sit on its corners), then the top
    # half as shown: from outside the top-left corner to the middle of the right side
    window.drag(image_point(column, 60, 260), image_point(column, 140, 340))
    window.wait(lambda s: s["columns"][0]["touched"], "a small rectangle")
    top_left = image_point(column, 0, 0)
    window.drag((top_left[0] - 4, top_left[1] - 4), image_point(column, 200, 199))
    state = window.wait(lambda s: s["columns"][0]["box"][1] == 0, "the top half drawn")
    window.key("Return")
    window.wait_phase("done")
    assert window.quit() == 0
    out = ImageOps.exif_transpose(Image.open(_outputs(folder) / "turned.jpg"))
    assert abs(out.width - 200) <= 1 and abs(out.height - 200) <= 2, out.size
    red, _green, blue = out.convert("RGB").getpixel((out.width // 2, out.height // 2))
    assert blue > 180 and red < 80                         # the stored left half: blue
