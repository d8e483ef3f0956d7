"""The window's second pass as a person uses it, under Xvfb with real keys and mouse: each
item the issue saw, mended, and each new key (loupe, nudges, g, adopting a suggestion)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from crop_client import shaping
from gui.gui_driver import image_point, make_images

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


def _outputs(folder: Path) -> Path:
    return folder.parent / f"{folder.name}_cropped"


def _quit_dropping_changes(window) -> int:
    """q warns about unsubmitted changes; the second q quits without them."""
    window.key("q")
    window.wait(lambda s: "Unsubmitted changes" in s["alert"], "the quit warning")
    window.key("q")
    return window.process.wait(20)


def test_the_original_aspect_is_exact_and_moving_keeps_the_size(open_window,
                                                                tmp_path: Path) -> None:
    """Seen: 2300×2301 on a square image; moving by the centre handle changed the size."""
    folder = tmp_path / "square"
    make_images(folder, 2, size=(1201, 1201))
    window = open_window(folder, "--per-batch", "1")
    state = window.wait_batch()
    column = state["columns"][0]
    window.drag(image_point(column, 101, 203), image_point(column, 833, 911))
    state = window.wait(lambda s: s["columns"][0]["touched"], "a rectangle drawn")
    action, box = state["columns"][0]["action"]
    assert action == "crop" and box[2] - box[0] == box[3] - box[1]
    left, top, right, bottom = state["columns"][0]["box"]
    centre = image_point(state["columns"][0], (left + right) / 2, (top + bottom) / 2)
    window.drag(centre, (centre[0] + 37, centre[1] + 23))
    moved = window.wait(lambda s: s["columns"][0]["box"][0] != left, "the rectangle moved")
    _, after = moved["columns"][0]["action"]
    assert (after[2] - after[0], after[3] - after[1]) == (box[2] - box[0], box[3] - box[1])
    window.key("Return")
    window.wait_batch(after=moved["serial"])
    assert window.quit() == 0
    crop = Image.open(_outputs(folder) / "img_0000.png")
    assert crop.width == crop.height == after[2] - after[0]


def test_the_presets_refit_what_was_drawn_and_reset_stays_keep(open_window,
                                                               tmp_path: Path) -> None:
    """Seen: `a` shrank drawn rectangles step by step; after x and a×5, `crop` not keep."""
    folder = tmp_path / "presets"
    make_images(folder, 4, size=(800, 600))
    window = open_window(folder, "--per-batch", "2", "--aspect", "free")
    state = window.wait_batch()
    column = state["columns"][0]
    window.drag(image_point(column, 40, 30), image_point(column, 700, 500))
    state = window.wait(lambda s: s["columns"][0]["touched"], "a rectangle drawn")
    drawn = state["columns"][0]["action"]
    window.key("c")                                       # image 2 back to the whole image
    window.key(*["a"] * 6)                                # round the presets to free again
    state = window.wait(lambda s: s["aspect"] == "free", "back at free")
    assert state["columns"][0]["action"] == drawn
    assert state["columns"][1]["action"] == ["keep", None]
    assert "keep whole image" in state["columns"][1]["caption"]
    assert _quit_dropping_changes(window) == 0


def test_a_tiny_crop_is_refused_with_a_message(open_window, tmp_path: Path) -> None:
    """Seen: a corner dragged past the opposite one gave `crop 8 × 352`, and Enter took it."""
    folder = tmp_path / "tiny"
    make_images(folder, 2, size=(900, 900))
    window = open_window(folder, "--per-batch", "1", "--aspect", "free")
    state = window.wait_batch()
    column = state["columns"][0]
    window.drag(image_point(column, 400, 100), image_point(column, 404, 600))
    state = window.wait(lambda s: "too small" in s["alert"], "the refusal")
    assert "16 px" in state["alert"] and not state["columns"][0]["touched"]
    assert state["columns"][0]["action"] == ["keep", None]
    assert window.quit() == 0


def test_status_lines_and_messages_show_no_empty_boxes(open_window, tmp_path: Path) -> None:
    """Seen: ⏰ and ✅ drawn as empty boxes in the status bar."""
    folder = tmp_path / "emoji"
    make_images(folder, 1, size=(100, 100))
    first = open_window(folder, "--auto", "keep", name="first")
    assert first.process.wait(30) == 0
    window = open_window(folder, "--retry-skipped", name="second")
    state = window.wait_phase("done")
    shown = "\n".join(state["messages_shown"] + state["progress_shown"])
    assert "Last session" in shown or "Nothing left" in shown
    assert not any(ch in shown for ch in "⏰✅🎯📊🚀\ufe0f")
    assert window.quit() == 0


def test_leaving_a_folder_drops_its_warning(open_window, tmp_path: Path) -> None:
    """Seen: "Unsubmitted changes!" stayed after n into a folder with none."""
    make_images(tmp_path / "two" / "a", 2, size=(100, 80))
    make_images(tmp_path / "two" / "b", 2, size=(100, 80))
    window = open_window(tmp_path / "two", "--per-batch", "1")
    window.wait_batch()
    window.key("1")
    window.key("n")
    window.wait(lambda s: s["alert"].startswith("Unsubmitted changes!"), "the warning")
    window.key("n")
    state = window.wait(lambda s: s["folder"] and s["folder"].endswith("/b/")
                        and s["phase"] == "batch", "the next folder")
    assert state["alert"] == ""
    assert window.quit() == 0


def test_undo_with_nothing_left_says_so_in_words(open_window, tmp_path: Path) -> None:
    """Seen: `[NOTHING_TO_UNDO]` on screen."""
    folder = tmp_path / "undo"
    make_images(folder, 2, size=(100, 80))
    window = open_window(folder, "--per-batch", "1")
    window.wait_batch()
    window.key("b")
    state = window.wait(lambda s: "undo" in s["alert"].lower() and "…" not in s["alert"],
                        "the undo answer")
    assert state["alert"] == "Nothing to undo in this folder."
    assert window.quit() == 0


def test_an_empty_folder_says_so_at_once(open_window, tmp_path: Path) -> None:
    """Seen: "multicrop: starting…" and "Connecting to the crop daemon…" for 20 s+."""
    folder = tmp_path / "empty"
    folder.mkdir()
    window = open_window(folder)
    state = window.wait_phase("done", timeout=10)
    assert "No images found" in state["done_text"]
    assert state["title"] == "multicrop — nothing to crop"
    assert state["progress"] == ["No images found."]
    assert window.quit() == 0


def test_the_all_done_screen_sums_up_and_idles_its_buttons(open_window,
                                                           tmp_path: Path) -> None:
    """Seen: no summary, and its buttons stayed enabled."""
    folder = tmp_path / "done"
    make_images(folder, 2, size=(100, 80))
    window = open_window(folder, "--per-batch", "2")
    state = window.wait_batch()
    window.key("k")
    state = window.wait(lambda s: s["phase"] == "done" and s["saving"] == 0
                        and "2 of 2 images done" in s["done_text"], "the all-done screen")
    assert "This session: 2 images" in state["done_text"]
    assert not state["enabled"]["submit"] and not state["enabled"]["keep_all"]
    assert state["enabled"]["undo"] and state["enabled"]["quit"]
    assert window.quit() == 0


def test_saving_shows_a_count_that_goes_down(open_window, tmp_path: Path) -> None:
    """Seen: while crops saved the count stayed old and nothing said "saving"."""
    import numpy as np

    folder = tmp_path / "saving"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for index in range(6):   # noise: slow to compress, so the saves take a while
        Image.fromarray(rng.integers(0, 255, (2000, 2000, 3), dtype=np.uint8)).save(
            folder / f"n_{index}.png", compress_level=0)
    window = open_window(folder, "--per-batch", "3", "--aspect", "1:1", "--png-level", "9",
                         "--fit", "bucket:1024:64", "--upscale")
    window.wait_batch()
    window.key("Return")
    seen = window.wait(lambda s: s["saving"] > 0, "the saving count")
    assert any(line.startswith("saving ") for line in seen["progress"])
    window.wait(lambda s: s["saving"] == 0 and "(3/6)" in s["progress"][0], "all saved",
                timeout=60)
    assert window.quit() == 0
    assert Image.open(_outputs(folder) / "n_0.png").size == (1024, 1024)


def test_nudges_move_the_active_edge(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "nudge"
    make_images(folder, 1, size=(1000, 800))
    window = open_window(folder, "--per-batch", "1", "--aspect", "free")
    state = window.wait_batch()
    column = state["columns"][0]
    window.drag(image_point(column, 100, 100), image_point(column, 600, 500))
    state = window.wait(lambda s: s["columns"][0]["touched"], "a rectangle drawn")
    _, (left, top, right, bottom) = state["columns"][0]["action"]
    window.key("ctrl+Right")
    state = window.wait(lambda s: s["columns"][0]["action"][1][2] == right + 1, "1 px right")
    window.key("ctrl+shift+Down")
    state = window.wait(lambda s: s["columns"][0]["action"][1][3] == bottom + 10,
                        "10 px down")
    window.key("Tab", "Tab")                               # right -> bottom -> left
    state = window.wait(lambda s: s["edge"] == "left", "the left edge active")
    window.key("ctrl+Left")
    state = window.wait(lambda s: s["columns"][0]["action"][1][0] == left - 1, "1 px left")
    assert f"x {left - 1} y {top}" in state["columns"][0]["caption"]
    assert _quit_dropping_changes(window) == 0


def test_the_loupe_shows_under_the_pointer(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "loupe"
    make_images(folder, 1, size=(3000, 2000))
    window = open_window(folder, "--per-batch", "1")
    state = window.wait_batch()
    window.hover(*image_point(state["columns"][0], 1500, 1000))
    window.wait(lambda s: s["columns"][0]["loupe"], "the loupe")
    window.screenshot(tmp_path / "loupe.png")
    assert window.quit() == 0


def test_g_goes_to_an_image_by_number_or_name(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "jump"
    make_images(folder, 9, size=(100, 80))
    window = open_window(folder, "--per-batch", "2")
    state = window.wait_batch()
    window.key("g")
    window.wait(lambda s: s["jump"], "the go-to entry")
    window.type_text("7")
    window.key("Return")
    state = window.wait(lambda s: s["files"] == ["img_0006.png", "img_0007.png"]
                        and s["phase"] == "batch", "image 7 shown")
    window.key("g")
    window.wait(lambda s: s["jump"], "the go-to entry")
    window.type_text("img_0002")
    window.key("Return")
    state = window.wait(lambda s: s["files"] == ["img_0002.png", "img_0003.png"]
                        and s["phase"] == "batch", "img_0002 shown")
    window.key("g")
    window.wait(lambda s: s["jump"], "the go-to entry")
    window.type_text("nothing_like_it")
    window.key("Return")
    state = window.wait(lambda s: "no image named" in s["alert"], "the miss said")
    assert state["files"] == ["img_0002.png", "img_0003.png"]
    assert window.quit() == 0


def test_a_suggestion_is_dashed_and_s_or_shift_s_adopts_it(open_window,
                                                           tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    folder = tmp_path / "suggest"
    folder.mkdir()
    for index, x in enumerate((200, 1400)):
        picture = Image.new("RGB", (1600, 900), (90, 110, 100))
        ImageDraw.Draw(picture).ellipse((x - 60, 400, x + 60, 520), fill=(255, 0, 0))
        picture.save(folder / f"p{index}.png")
    window = open_window(folder, "--per-batch", "2", "--aspect", "1:1", "--suggest",
                         "saliency")
    state = window.wait(lambda s: s["phase"] == "batch" and all(
        c["suggestion"] for c in s["columns"]), "two suggestions")
    first, second = (c["suggestion"] for c in state["columns"])
    assert first[0] <= 140 and first[2] >= 260 and second[0] <= 1340 and second[2] >= 1460
    window.hover(*image_point(state["columns"][1], 800, 450))
    window.wait(lambda s: s["active"] == 1, "image 2 active")
    window.key("s")
    state = window.wait(lambda s: s["columns"][1]["box"] == second, "image 2 adopted")
    assert state["columns"][0]["box"] != first
    window.key("S")
    state = window.wait(lambda s: s["columns"][0]["box"] == first, "the batch adopted")
    window.screenshot(tmp_path / "suggested.png")
    window.key("Return")
    window.wait(lambda s: s["phase"] == "done" and s["saving"] == 0, "all saved")
    assert window.quit() == 0
    for index in range(2):
        out = Image.open(_outputs(folder) / f"p{index}.png").convert("RGB")
        assert out.size == (900, 900)
        assert max(out.getpixel((x, 460))[0] for x in range(0, 900, 5)) > 200


def test_the_keys_list_the_new_keys(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    make_images(folder, 1, size=(100, 80))
    window = open_window(folder)
    window.wait_batch()
    window.key("question")
    window.wait(lambda s: s["help"], "the keys")
    window.screenshot(tmp_path / "keys.png")
    window.key("Escape")
    window.wait(lambda s: not s["help"], "the keys closed")
    assert window.quit() == 0


def test_shift_while_dragging_snaps_to_the_nearest_bucket(open_window, tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    make_images(folder, 1, size=(3000, 2000))
    window = open_window(folder, "--per-batch", "1", "--aspect", "free",
                         "--fit", "bucket:1024:64")
    state = window.wait_batch()
    column = state["columns"][0]
    window.drag(image_point(column, 100, 100), image_point(column, 2300, 1400), hold="shift")
    state = window.wait(lambda s: s["columns"][0]["touched"], "a rectangle drawn")
    _, (left, top, right, bottom) = state["columns"][0]["action"]
    ratio = (right - left) / (bottom - top)
    bucket = shaping.nearest_bucket(1024, 64, 2200 / 1300)     # the drawn ratio, about
    assert abs(ratio - bucket[0] / bucket[1]) < 0.01, ((left, top, right, bottom), bucket)
    assert abs(ratio - 2200 / 1300) > 0.01                     # it did move
    assert f"→ out {bucket[0]} × {bucket[1]}" in state["columns"][0]["caption"]
    assert _quit_dropping_changes(window) == 0


def test_a_second_window_names_the_image_it_really_shows(open_window, tmp_path: Path) -> None:
    """Seen: a second window said "Resuming at image 1/9" while it showed image 7."""
    folder = tmp_path / "second"
    make_images(folder, 9, size=(100, 80))
    first = open_window(folder, "--per-batch", "3", name="first", geometry="790x700+0+0")
    first.wait(lambda s: s["phase"] == "batch" and s["waiting"], "a batch and one ahead")
    second = open_window(folder, "--per-batch", "3", name="second", geometry="790x700+800+0")
    state = second.wait_batch()
    assert state["files"] == ["img_0006.png", "img_0007.png", "img_0008.png"]
    assert any("at image 7/9" in line for line in state["messages"]), state["messages"]
    assert second.quit() == 0
    assert first.quit() == 0
