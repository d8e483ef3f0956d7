"""The window's flow without a display (gui/flow.py): events in, commands and a render model
out. Each item the issue saw in the window has a test here, as does each new rule."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from crop_client import shaping
from crop_client.aspect import parse_aspect
from crop_client.multicrop.gui import backend as bk
from crop_client.multicrop.gui import flow as fl
from crop_client.multicrop.gui.geometry import Box
from crop_client.multicrop.gui.preview import Preview
from crop_client.multicrop.gui.suggestion import Suggestion
from crop_client.multicrop.options import Options
from crop_protocol.messages import (
    Claimed,
    ClaimedImage,
    Opened,
    Summary,
    Undone,
    UndoneItem,
)

FOLDER = "/w/photos/"


def summary(done: int = 0, total: int = 9, **fields: object) -> Summary:
    return Summary(directory=FOLDER, progress_file="/p/photos.json", total_images=total,
                   completed_count=done, **fields)  # type: ignore[arg-type]


def items(*positions: int) -> list[ClaimedImage]:
    return [ClaimedImage(file=f"img_{p:04d}.png", path=f"{FOLDER}img_{p:04d}.png", position=p)
            for p in positions]


def posted(outs: list[fl.Out], kind: type) -> list:
    return [o.command for o in outs if isinstance(o, fl.Post) and isinstance(o.command, kind)]


def preview(item: ClaimedImage, size: tuple[int, int] = (4096, 4096),
            saliency: object = None) -> Preview:
    return Preview(item, Image.new("RGB", (64, 64)), size, Suggestion(None), saliency=saliency)


def opened_flow(columns: int = 3, aspect: str = "original", opened: Summary | None = None,
                **kwargs: object) -> fl.Flow:
    flow = fl.Flow(Options(directories=[Path("/w/photos")], aspect=parse_aspect(aspect)),
                   columns, **kwargs)  # type: ignore[arg-type]
    outs = flow.start()
    (discover,) = posted(outs, bk.Discover)
    outs = flow.handle(bk.Done(discover, [FOLDER]))
    (open_,) = posted(outs, bk.Open)
    flow.handle(bk.Done(open_, Opened(summary=opened or summary(), resumed=False)))
    return flow


def show(flow: fl.Flow, positions: tuple[int, ...], size: tuple[int, int] = (4096, 4096),
         held_by_others: int = 0, saliency: object = None) -> None:
    claim = bk.Claim(directory=FOLDER, count=flow.columns)
    flow.claim_pending = True
    outs = flow.handle(bk.Done(claim, Claimed(items=items(*positions), summary=summary(),
                                             lease_ttl=30, held_by_others=held_by_others)))
    for out in outs:
        if isinstance(out, fl.Decode):
            for slot in out.batch.slots:
                flow.decoded(slot, preview(slot.item, size, saliency))
    assert flow.shown is not None and flow.shown.ready()


def test_the_locked_original_aspect_gives_a_square_on_a_square_image() -> None:
    """Seen: 2300×2301, 3265×3264, 1862×1863."""
    flow = opened_flow()
    show(flow, (1, 2, 3))
    for column, box in enumerate((Box(100.3, 200.6, 2400.2, 2501.4), Box(0, 0, 3265.4, 3264.2),
                                  Box(17.5, 3.5, 1879.6, 1866.9))):
        flow.set_box(column, box)
    outs = flow.act("submit")
    (submit,) = posted(outs, bk.Submit)
    for entry in submit.entries:
        left, top, right, bottom = entry.box
        assert entry.action == "crop" and right - left == bottom - top


def test_cycling_the_presets_gives_back_the_drawn_rectangle() -> None:
    """Seen: `a` shrank what was drawn step by step (3265×3264 became 1836×1032)."""
    flow = opened_flow(aspect="free")
    show(flow, (1, 2, 3))
    drawn = Box(10, 20, 3275, 3284)
    flow.set_box(0, drawn)
    slot = flow.shown.slots[0]
    sizes = []
    for _ in range(6):                                  # original, 1:1, ..., 16:9, free
        flow.act("aspect")
        sizes.append(slot.action(flow.aspect)[1])
    assert flow.aspect.aspect.name == "free"
    assert slot.box == drawn and sizes[-1] == (10, 20, 3275, 3284)
    assert sizes[4] is not None and (sizes[4][2] - sizes[4][0]) * 9 == \
        (sizes[4][3] - sizes[4][1]) * 16        # 16:9, fitted from the drawn box


def test_reset_then_the_presets_round_is_still_keep() -> None:
    """Seen: after `x` then `a`×5 an image said `crop 2000 × 1124` instead of keep."""
    flow = opened_flow()
    show(flow, (1, 2, 3), size=(2000, 1500))
    flow.act("reset", 0)
    for _ in range(6):
        flow.act("aspect")
    assert flow.aspect.aspect.name == "original"
    assert flow.shown.slots[0].action(flow.aspect) == ("keep", None)
    assert "keep whole image" in flow.view().columns[0].caption


def test_a_crop_under_16_px_is_refused_with_a_message() -> None:
    """Seen: dragging a corner past the opposite one gave `crop 8 × 352`; Enter took 8×8."""
    flow = opened_flow(aspect="free")
    show(flow, (1, 2, 3))
    before = flow.shown.slots[0].box
    flow.set_box(0, Box(100, 100, 108, 452))
    assert flow.shown.slots[0].box == before
    assert "too small" in flow.alert and "16 px" in flow.alert
    flow.shown.slots[1].set_box(Box(5, 5, 13, 13))     # got there some other way
    assert posted(flow.act("submit"), bk.Submit) == []
    assert "Image 2" in flow.alert and "too small" in flow.alert


def test_emoji_without_glyphs_are_left_out_on_x11_only() -> None:
    """Seen: ⏰ and ✅ showed as empty boxes (only characters above U+FFFF were dropped)."""
    assert fl.screen_text("⏰ Last session: 2 hours ago") == "Last session: 2 hours ago"
    assert fl.screen_text("✅ Nothing left to do") == "Nothing left to do"
    assert fl.screen_text("🎯 Starting crop session for 'a/'") == \
        "Starting crop session for 'a/'"
    assert fl.screen_text("crop 10 × 20 → out 5 × 10") == "crop 10 × 20 → out 5 × 10"
    assert fl.screen_text("⏰ x", x11=False) == "⏰ x"


def test_the_unsubmitted_warning_goes_with_the_folder() -> None:
    """Seen: "Unsubmitted changes!" stayed after n/p into a folder with none."""
    flow = opened_flow()
    flow.handle(bk.Done(bk.Discover([]), [FOLDER, "/w/other/"]))   # two folders now
    flow.folder_index = 0
    show(flow, (1, 2, 3))
    flow.act("delete", 0)
    flow.act("next_dir")
    assert flow.alert.startswith("Unsubmitted changes!")
    outs = flow.act("next_dir")
    assert posted(outs, bk.Release) and flow.folder == "/w/other/"
    assert flow.alert == ""


def test_nothing_to_undo_says_so_in_words() -> None:
    """Seen: an undo with nothing left showed the code `[NOTHING_TO_UNDO]`."""
    flow = opened_flow()
    outs = flow.act("undo")
    (undo,) = posted(outs, bk.Undo)
    flow.handle(bk.Done(undo, error="nothing to undo [NOTHING_TO_UNDO]",
                        code="NOTHING_TO_UNDO", message="nothing to undo"))
    assert flow.alert == "Nothing to undo in this folder."
    assert "[" not in flow.view().alert


def test_a_second_window_says_where_it_really_resumes() -> None:
    """Seen: a second window said "Resuming at image 1/9" while it showed image 7."""
    resumed = summary(done=0, total=9, session_count=1, current_index=0,
                      last_session_end="2026-01-01T00:00:00Z")
    flow = opened_flow(opened=resumed)
    assert any("Resuming at image 1/9" in line for line in flow.messages)
    show(flow, (7, 8, 9))
    assert any("Resuming at image 7/9" in line for line in flow.view().messages)


def test_an_empty_folder_ends_the_start_at_once() -> None:
    """Seen: an empty directory left "multicrop: starting…" and "Connecting…" for 20 s+."""
    flow = fl.Flow(Options(directories=[Path("/w/empty")]), 3)
    (discover,) = posted(flow.start(), bk.Discover)
    flow.handle(bk.Done(discover, []))
    view = flow.view()
    assert view.phase == "done" and "No images found" in view.done_text
    assert view.title == "multicrop — nothing to crop"
    assert view.progress == ["No images found."]


def test_the_all_done_screen_has_a_summary_and_idle_buttons() -> None:
    """Seen: the all-done screen had no summary and its buttons stayed enabled."""
    flow = opened_flow(opened=summary(done=9, total=9, session_images=4))
    claim = bk.Claim(directory=FOLDER, count=3)
    flow.claim_pending = True
    flow.handle(bk.Done(claim, Claimed(items=[], summary=summary(done=9, session_images=4),
                                       lease_ttl=30)))
    view = flow.view()
    assert view.phase == "done"
    assert "9 of 9 images done" in view.done_text and "This session: 4 images" in view.done_text
    assert not view.enabled["submit"] and not view.enabled["keep_all"]
    assert not view.enabled["aspect"] and view.enabled["undo"] and view.enabled["quit"]


def test_claims_of_other_windows_come_from_the_daemon() -> None:
    """Seen: the window worked out other windows' claims by arithmetic."""
    flow = opened_flow()
    claim = bk.Claim(directory=FOLDER, count=3)
    flow.claim_pending = True
    outs = flow.handle(bk.Done(claim, Claimed(items=[], summary=summary(active_claims=7),
                                              lease_ttl=30, held_by_others=2)))
    assert "2 image(s) are open in other windows" in flow.view().done_text
    assert any(isinstance(o, fl.Later) and o.what == "retry" for o in outs)


def test_saving_counts_down_image_by_image() -> None:
    """Seen: while crops saved the count stayed old and nothing said "saving"."""
    flow = opened_flow()
    show(flow, (1, 2, 3))
    (submit,) = posted(flow.act("keep_all"), bk.Submit)
    view = flow.view()
    assert view.saving == 3 and "saving 3…" in view.progress
    flow.handle(bk.Saved(FOLDER, "img_0001.png", submit.batch))
    assert flow.view().saving == 2
    flow.handle(bk.Done(submit, bk.SubmitResult(summary(done=3), {})))
    assert flow.view().saving == 0 and not any("saving" in x for x in flow.view().progress)


def test_quitting_while_saving_says_how_many_are_left() -> None:
    flow = opened_flow()
    show(flow, (1, 2, 3))
    (submit,) = posted(flow.act("keep_all"), bk.Submit)
    outs = flow.act("quit")
    assert posted(outs, bk.Close) and "Saving 3 image(s)" in flow.alert
    flow.handle(bk.Saved(FOLDER, "img_0001.png", submit.batch))
    assert "Saving 2 image(s)" in flow.alert


def test_nudges_move_the_active_edge_by_whole_pixels() -> None:
    flow = opened_flow(aspect="free")
    show(flow, (1, 2, 3), size=(1000, 800))
    flow.set_box(1, Box(100, 100, 500, 400))
    assert flow.active == 1
    flow.nudge(1, 0)
    assert flow.shown.slots[1].action(flow.aspect) == ("crop", (100, 100, 501, 400))
    flow.nudge(0, 10)                                   # Shift: 10 px, the bottom edge
    assert flow.shown.slots[1].action(flow.aspect) == ("crop", (100, 100, 501, 410))
    flow.act("edge")
    flow.act("edge")                                    # right, bottom, left
    flow.nudge(-1, 0)
    assert flow.shown.slots[1].action(flow.aspect) == ("crop", (99, 100, 501, 410))


def test_a_nudge_with_the_aspect_locked_keeps_it_exact() -> None:
    flow = opened_flow(aspect="1:1")
    show(flow, (1, 2, 3), size=(1000, 800))
    flow.set_box(0, Box(100, 100, 500, 500))
    for _ in range(3):
        flow.nudge(1, 0)
    _, (left, top, right, bottom) = flow.shown.slots[0].action(flow.aspect)
    assert right - left == bottom - top == 403


def test_the_caption_shows_x_y_and_the_output_size() -> None:
    flow = opened_flow(aspect="free", shape=shaping.Shape("bucket", 1024, 64))
    show(flow, (1, 2, 3), size=(4096, 4096))
    flow.set_box(0, Box(96, 48, 3096, 2048))
    caption = flow.view().columns[0].caption
    assert "x 96 y 48" in caption and "crop 3000 × 2000 → out 1216 × 832" in caption
    assert "whole image, shaped" in flow.view().columns[1].caption


def test_adopting_the_suggestion_for_one_image_or_the_batch() -> None:
    import numpy as np

    saliency = np.zeros((36, 64), dtype=np.float32)   # the map has the picture's shape
    saliency[16:20, 56:60] = 1.0                     # something at the right
    flow = opened_flow(aspect="1:1", suggest=True)
    show(flow, (1, 2, 3), size=(1600, 900), saliency=saliency)
    view = flow.view()
    suggestion = view.columns[0].suggestion
    # dashed, holding the object (x 1400-1500), as central as it can be while it does
    assert suggestion is not None and suggestion.left <= 1400 and suggestion.right >= 1500
    assert suggestion.left > 350 and suggestion.width == 900
    assert flow.shown.slots[0].box != suggestion                   # not taken yet
    flow.point_at(2)
    flow.act("adopt")
    assert flow.shown.slots[2].box == suggestion and flow.shown.slots[0].box != suggestion
    flow.act("adopt_all")
    assert all(slot.box == suggestion for slot in flow.shown.slots)
    assert flow.shown.slots[0].action(flow.aspect) == ("crop", (600, 0, 1500, 900))


def test_adopting_without_suggestions_says_how_to_get_them() -> None:
    flow = opened_flow()
    show(flow, (1, 2, 3))
    flow.act("adopt")
    assert "--suggest saliency" in flow.alert


def test_g_jumps_to_an_image_and_gives_back_the_batch_shown() -> None:
    flow = opened_flow()
    show(flow, (1, 2, 3))
    flow.act("jump")
    assert flow.view().jump
    outs = flow.jump_to("7")
    (jump,) = posted(outs, bk.Jump)
    assert jump.query == "7" and jump.count == 3 and not flow.view().jump
    outs = flow.handle(bk.Done(jump, Claimed(items=items(7, 8, 9), summary=summary(),
                                             lease_ttl=30)))
    (release,) = posted(outs, bk.Release)
    assert release.files == ["img_0001.png", "img_0002.png", "img_0003.png"]
    assert flow.shown.files == ["img_0007.png", "img_0008.png", "img_0009.png"]


def test_g_to_a_done_image_or_an_unknown_name_says_so() -> None:
    flow = opened_flow()
    show(flow, (1, 2, 3))
    jump = bk.Jump(FOLDER, "img_0004.png", 3)
    flow.handle(bk.Done(jump, Claimed(items=[], summary=summary(), lease_ttl=30,
                                      lost=["img_0004.png"])))
    assert "done, or open in another window" in flow.alert
    assert flow.shown.files == ["img_0001.png", "img_0002.png", "img_0003.png"]
    flow.handle(bk.Done(bk.Jump(FOLDER, "nope", 3), error="x",
                        message="no image named 'nope' in this folder"))
    assert "no image named 'nope'" in flow.alert


def test_g_with_unsubmitted_changes_asks_to_submit_first() -> None:
    flow = opened_flow()
    show(flow, (1, 2, 3))
    flow.act("skip", 0)
    assert posted(flow.jump_to("5"), bk.Jump) == []
    assert "Unsubmitted changes!" in flow.alert


def test_an_undone_batch_comes_back_in_its_columns() -> None:
    flow = opened_flow()
    show(flow, (1, 2, 3))
    (submit,) = posted(flow.act("keep_all"), bk.Submit)
    flow.handle(bk.Done(submit, bk.SubmitResult(summary(done=3), {})))
    (undo,) = posted(flow.act("undo"), bk.Undo)
    undone = [UndoneItem(file=f"img_{p:04d}.png", outcome="kept") for p in (2, 3, 1)]
    flow.handle(bk.Done(undo, Undone(items=undone, summary=summary())))
    assert flow.shown.files == ["img_0001.png", "img_0002.png", "img_0003.png"]


def test_reports_of_a_batch_move_the_progress_line() -> None:
    flow = opened_flow()
    show(flow, (1, 2, 3))
    (submit,) = posted(flow.act("keep_all"), bk.Submit)
    flow.handle(bk.Done(submit, bk.SubmitResult(summary(done=3), {})))
    assert "(3/9)" in flow.view().progress[0]


def test_shift_snaps_to_the_nearest_bucket_ratio() -> None:
    flow = opened_flow(aspect="free", shape=shaping.Shape("bucket", 1024, 64))
    show(flow, (1, 2, 3), size=(4096, 4096))
    snapped = flow.snap(flow.shown.slots[0], Box(0, 0, 3000, 2000))
    assert abs(snapped.width / snapped.height - 1216 / 832) < 1e-9
    plain = opened_flow(aspect="free")
    show(plain, (1, 2, 3))
    assert plain.snap(plain.shown.slots[0], Box(0, 0, 300, 200)) == Box(0, 0, 300, 200)


def test_a_decision_file_wins_over_the_computed_suggestion() -> None:
    import numpy as np

    flow = opened_flow(aspect="1:1", suggest=True)
    claim = bk.Claim(directory=FOLDER, count=3)
    flow.claim_pending = True
    outs = flow.handle(bk.Done(claim, Claimed(items=items(1, 2, 3), summary=summary(),
                                             lease_ttl=30)))
    (decode,) = [o for o in outs if isinstance(o, fl.Decode)]
    saliency = np.ones((36, 64), dtype=np.float32)
    for slot in decode.batch.slots:
        flow.decoded(slot, Preview(slot.item, Image.new("RGB", (64, 36)), (1600, 900),
                                   Suggestion((0.0, 0.0, 0.5, 1.0)), saliency=saliency))
    view = flow.view()
    assert all(column.suggestion is None for column in view.columns)
    assert flow.shown.slots[0].action(flow.aspect) == ("crop", (0, 0, 800, 900))
