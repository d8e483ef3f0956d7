"""The window's parts that need no display: `.decision` suggestions, reduced previews with
EXIF orientation, the batch and what submit does, and the key table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from crop_client.aspect import parse_aspect
from crop_client.multicrop.gui.batch import AspectState, Batch, Slot, batch_from_undone
from crop_client.multicrop.gui.geometry import Box
from crop_client.multicrop.gui.keys import KEYS
from crop_client.multicrop.gui.preview import load_picture, load_preview
from crop_client.multicrop.gui.suggestion import decision_file, read_suggestion, suggestion_for
from crop_protocol.messages import ClaimedImage, UndoneItem


def _item(path: Path, companions: list[str] | None = None) -> ClaimedImage:
    return ClaimedImage(file=path.name, path=str(path), position=1,
                        companions=companions or [], size=path.stat().st_size)


# --- suggestions ---------------------------------------------------------------------

def test_a_decision_file_by_stem_or_group_stem(tmp_path: Path) -> None:
    image = tmp_path / "20250803_172343_stage2_upscaled.png"
    group = tmp_path / "20250803_172343.decision"
    group.write_text(json.dumps({"ai_crop_coords": [0.1, 0.2, 0.9, 0.8]}))
    assert decision_file(str(image), []) == group
    own = tmp_path / "20250803_172343_stage2_upscaled.decision"
    own.write_text(json.dumps({"ai_crop_coords": [0, 0, 0.5, 0.5]}))
    assert decision_file(str(image), [own.name, group.name]) == own
    assert suggestion_for(str(image), [own.name]).coords == (0, 0, 0.5, 0.5)


@pytest.mark.parametrize("text", ["{broken", "[1, 2]", '{"ai_crop_coords": [0, 0, "x", 1]}',
                                  '{"ai_crop_coords": [0.5, 0.1, 0.5, 0.9]}'])
def test_a_damaged_decision_file_is_ignored_with_a_note(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.decision"
    path.write_text(text)
    suggestion = read_suggestion(path)
    assert suggestion.coords is None
    assert suggestion.note is not None and "a.decision" in suggestion.note


def test_a_decision_without_coordinates_suggests_nothing_quietly(tmp_path: Path) -> None:
    path = tmp_path / "a.decision"
    path.write_text(json.dumps({"group_id": "x"}))
    assert read_suggestion(path).coords is None and read_suggestion(path).note is None


# --- previews ------------------------------------------------------------------------

def test_a_large_png_is_decoded_reduced_to_the_column(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (4096, 2048), (10, 200, 30)).save(path)
    picture, full = load_picture(str(path), (700, 700))
    assert full == (4096, 2048)
    assert picture.size == (684, 342)                    # 700 less the margins, same ratio
    assert picture.getpixel((10, 10)) == (10, 200, 30)


def test_a_jpeg_is_drafted_and_exif_orientation_turns_it(tmp_path: Path) -> None:
    path = tmp_path / "turned.jpg"
    picture = Image.new("RGB", (800, 400), (255, 0, 0))
    picture.paste((0, 0, 255), (0, 0, 400, 400))         # stored: blue left half
    exif = Image.Exif()
    exif[0x0112] = 6                                     # shown turned a quarter clockwise
    picture.save(path, exif=exif.tobytes(), quality=95)
    shown, full = load_picture(str(path), (300, 500))
    assert full == (400, 800)                            # the oriented size: tall
    assert shown.height > shown.width
    top = shown.getpixel((shown.width // 2, 5))
    assert top[2] > 200 and top[0] < 60                  # blue (stored left) is now on top


def test_an_unreadable_image_becomes_a_preview_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    preview = load_preview(_item(path), (300, 300))
    assert preview.image is None and preview.full_size is None and preview.error


# --- the batch -----------------------------------------------------------------------

def _slot(tmp_path: Path, size: tuple[int, int] = (400, 200), aspect: str = "original",
          coords: list[float] | None = None) -> Slot:
    path = tmp_path / f"img_{size[0]}x{size[1]}.png"
    Image.new("RGB", size).save(path)
    companions = []
    if coords is not None:
        path.with_suffix(".decision").write_text(json.dumps({"ai_crop_coords": coords}))
        companions.append(path.with_suffix(".decision").name)
    slot = Slot(_item(path, companions))
    slot.start(load_preview(slot.item, (300, 300)), AspectState(parse_aspect(aspect)))
    return slot


def test_an_untouched_whole_image_is_kept_and_a_changed_one_cropped(tmp_path: Path) -> None:
    slot = _slot(tmp_path)
    assert slot.action() == ("keep", None) and not slot.changed()
    slot.set_box(Box(10, 20, 110, 120))
    assert slot.action() == ("crop", (10, 20, 110, 120)) and slot.changed()
    slot.reset()
    assert slot.action() == ("keep", None)


def test_marks_toggle_and_win_over_the_rectangle(tmp_path: Path) -> None:
    slot = _slot(tmp_path)
    slot.set_box(Box(10, 20, 110, 120))
    slot.toggle("delete")
    assert slot.action() == ("delete", None)
    slot.toggle("skip")
    assert slot.action() == ("skip", None)
    slot.toggle("skip")
    assert slot.action() == ("crop", (10, 20, 110, 120))


def test_the_starting_rectangle_follows_the_aspect_or_the_suggestion(tmp_path: Path) -> None:
    square = _slot(tmp_path, aspect="1:1")
    assert square.action() == ("crop", (100, 0, 300, 200))
    suggested = _slot(tmp_path, coords=[0.5, 0, 1, 1])
    assert suggested.suggested and suggested.action() == ("crop", (200, 0, 400, 200))


def test_a_new_aspect_recentres_untouched_and_shrinks_touched(tmp_path: Path) -> None:
    aspect = AspectState(parse_aspect("original"))
    untouched, touched = _slot(tmp_path), _slot(tmp_path, size=(300, 300))
    touched.set_box(Box(0, 0, 300, 100))
    aspect.aspect = parse_aspect("1:1")
    untouched.reaspect(aspect)
    touched.reaspect(aspect)
    assert untouched.box == Box(100, 0, 300, 200) and not untouched.touched
    assert touched.box == Box(100, 0, 200, 100)
    aspect.locked = False
    assert aspect.ratio(400, 200) is None and aspect.describe() == "1:1 (unlocked)"


def test_keep_all_keeps_readable_images(tmp_path: Path) -> None:
    slot = _slot(tmp_path)
    slot.toggle("delete")
    batch = Batch([slot])
    assert batch.changed()
    assert batch.actions(keep_all=True) == [(slot.item, "keep", None)]


def test_every_key_of_the_spec_table_is_bound() -> None:
    bound = {seq: (k.action, k.column) for k in KEYS for seq in k.sequences}
    expected = {"<Return>": ("submit", None), "<KeyPress-1>": ("delete", 0),
                "<KeyPress-2>": ("delete", 1), "<KeyPress-3>": ("delete", 2),
                "<KeyPress-w>": ("skip", 0), "<KeyPress-e>": ("skip", 1),
                "<KeyPress-r>": ("skip", 2), "<KeyPress-x>": ("reset", 0),
                "<KeyPress-c>": ("reset", 1), "<KeyPress-v>": ("reset", 2),
                "<space>": ("lock", None), "<KeyPress-a>": ("aspect", None),
                "<KeyPress-k>": ("keep_all", None), "<KeyPress-b>": ("undo", None),
                "<Left>": ("undo", None), "<Control-z>": ("undo", None),
                "<KeyPress-n>": ("next_dir", None), "<KeyPress-p>": ("prev_dir", None),
                "<KeyPress-q>": ("quit", None), "<Escape>": ("quit", None),
                "<question>": ("help", None)}
    assert {seq: bound.get(seq) for seq in expected} == expected


def test_an_undone_batch_comes_back_as_it_was_submitted(tmp_path: Path) -> None:
    kept, cropped = _slot(tmp_path), _slot(tmp_path, size=(300, 300))
    cropped.set_box(Box(10, 10, 110, 110))
    history = [Batch([kept, cropped], serial=4)]
    items = [UndoneItem(file=kept.item.file, outcome="deleted"),
             UndoneItem(file=cropped.item.file, outcome="cropped", box=[10, 10, 110, 110]),
             UndoneItem(file="gone.png", outcome="skipped", companions=["gone.yaml"])]
    batch = batch_from_undone("/w/", items, history, AspectState(parse_aspect("original")), 9)
    assert batch.serial == 9 and batch.undone
    first, second, third = batch.slots
    assert first.preview is kept.preview and first.mark == "delete"
    assert second.action() == ("crop", (10, 10, 110, 110)) and second.preview is cropped.preview
    assert third.item.path == "/w/gone.png" and third.mark == "skip" and third.preview is None
