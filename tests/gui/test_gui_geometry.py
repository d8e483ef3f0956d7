"""Crop-rectangle geometry without a display: mapping, handles, drawing, resizing, moving,
clamping and the aspect ratio."""

from __future__ import annotations

import pytest

from crop_client.multicrop.gui.geometry import (
    Box,
    ImageView,
    Move,
    NewRect,
    Resize,
    centre_box,
    clamp_box,
    fit_ratio,
    fit_view,
    hit_handle,
    start_drag,
    suggestion_box,
)

# a 4K image shown at a third of its size
VIEW_4K = ImageView(4096, 4096, 10, 20, 1365, 1365)


def test_fit_view_centres_the_largest_picture() -> None:
    view = fit_view(4000, 2000, 1000, 800, margin=0)
    assert (view.shown_w, view.shown_h) == (1000, 500)
    assert (view.origin_x, view.origin_y) == (0, 150)
    small = fit_view(100, 50, 1000, 800, margin=8)      # small images are enlarged
    assert small.shown_w == 984


def test_canvas_corners_are_the_image_corners() -> None:
    view = VIEW_4K
    assert view.to_image(10, 20) == (0.0, 0.0)
    assert view.to_image(10 + 1365, 20 + 1365) == (4096.0, 4096.0)
    assert view.to_image(-50, 5000) == (0.0, 4096.0)     # held inside
    x, y = view.to_screen(2048, 1024)
    assert view.to_image(x, y) == pytest.approx((2048, 1024))


def test_drawing_corner_to_corner_gives_the_whole_image() -> None:
    view = VIEW_4K
    drag = NewRect(view, Box(100, 100, 200, 200), 10, 20, None)
    box = drag.finish(10 + 1364, 20 + 1364)             # the last pixel of the picture
    assert box is not None and box.pixels(4096, 4096) == (0, 0, 4096, 4096)
    beyond = NewRect(view, Box(100, 100, 200, 200), 0, 0, None).finish(2000, 2000)
    assert beyond is not None and beyond.is_full(4096, 4096)


def test_a_drawn_rectangle_covers_both_pixels_at_full_resolution() -> None:
    view = ImageView(400, 300, 0, 0, 800, 600)           # shown at twice the size
    box = NewRect(view, Box.full(400, 300), 100, 80, None).finish(301, 181)
    assert box is not None
    assert box.pixels(400, 300) == (50, 40, 151, 91)
    backwards = NewRect(view, Box.full(400, 300), 301, 181, None).finish(100, 80)
    assert backwards is not None and backwards.pixels(400, 300) == (50, 40, 151, 91)


def test_a_click_keeps_the_rectangle() -> None:
    view = ImageView(400, 300, 0, 0, 400, 300)
    assert NewRect(view, Box(0, 0, 10, 10), 200, 150, None).finish(202, 151) is None


def test_drawing_keeps_the_aspect_when_locked() -> None:
    view = ImageView(1600, 900, 0, 0, 1600, 900)
    box = NewRect(view, Box.full(1600, 900), 100, 100, 16 / 9).finish(500, 200)
    assert box is not None
    assert box.width / box.height == pytest.approx(16 / 9)
    assert (box.left, box.top) == (100, 100)
    near_edge = NewRect(view, Box.full(1600, 900), 1500, 800, 1.0).finish(1599, 899)
    assert near_edge is not None and near_edge.right <= 1600 and near_edge.bottom <= 900
    assert near_edge.width == pytest.approx(near_edge.height)


def test_handles_are_grabbable_on_a_4k_image_at_a_third() -> None:
    box = Box(1000, 1000, 3000, 3000)
    x1, y1, x2, y2 = VIEW_4K.box_on_screen(box)
    assert hit_handle(VIEW_4K, box, x1 + 6, y1 - 6) == "nw"
    assert hit_handle(VIEW_4K, box, x2 - 10, (y1 + y2) / 2) == "e"
    assert hit_handle(VIEW_4K, box, (x1 + x2) / 2, (y1 + y2) / 2 + 5) == "move"
    assert hit_handle(VIEW_4K, box, (x1 + x2) / 2 + 100, (y1 + y2) / 2) is None


def test_start_drag_picks_the_gesture() -> None:
    box = Box(1000, 1000, 3000, 3000)
    x1, y1, x2, y2 = VIEW_4K.box_on_screen(box)
    assert isinstance(start_drag(VIEW_4K, box, x2, y2, None), Resize)
    assert isinstance(start_drag(VIEW_4K, box, (x1 + x2) / 2, (y1 + y2) / 2, None), Move)
    assert isinstance(start_drag(VIEW_4K, box, x1 + 200, y1 + 100, None), NewRect)
    assert isinstance(start_drag(VIEW_4K, box, x1 + 200, y1 + 100, None, move_anywhere=True),
                      Move)


def test_a_corner_handle_resizes_from_the_opposite_corner() -> None:
    view = ImageView(1000, 1000, 0, 0, 1000, 1000)
    box = Box(100, 100, 500, 500)
    drag = Resize(view, box, 500, 500, None, "se")
    assert drag.finish(700, 600) == Box(100, 100, 700, 600)
    locked = Resize(view, box, 500, 500, 1.0, "se").finish(900, 600)
    assert locked == Box(100, 100, 900, 900)             # the side that moved most wins
    held = Resize(view, box, 500, 500, 1.0, "se").finish(2000, 1200)
    assert held == Box(100, 100, 1000, 1000)             # held inside, still square


def test_an_edge_handle_moves_one_side_and_the_aspect_follows() -> None:
    view = ImageView(1000, 1000, 0, 0, 1000, 1000)
    box = Box(200, 200, 400, 400)
    assert Resize(view, box, 400, 300, None, "e").finish(600, 900) == Box(200, 200, 600, 400)
    locked = Resize(view, box, 400, 300, 1.0, "e").finish(600, 300)
    assert locked == Box(200, 100, 600, 500)             # grows about its vertical centre
    assert Resize(view, box, 300, 200, None, "n").finish(300, -50) == Box(200, 0, 400, 400)


def test_moving_holds_the_rectangle_inside() -> None:
    view = ImageView(1000, 500, 0, 0, 500, 250)          # shown at half size
    box = Box(100, 100, 300, 200)
    moved = Move(view, box, 100, 100, None).finish(150, 120)
    assert moved == Box(200, 140, 400, 240)
    pushed = Move(view, box, 100, 100, None).finish(900, -300)
    assert pushed == Box(800, 0, 1000, 100)


def test_aspect_helpers() -> None:
    assert centre_box(1600, 900, 1.0) == Box(350, 0, 1250, 900)
    assert centre_box(900, 1600, 16 / 9).width == 900
    assert centre_box(640, 480, None) == Box.full(640, 480)
    assert fit_ratio(Box(0, 0, 400, 100), 1.0, 1000, 1000) == Box(150, 0, 250, 100)
    assert clamp_box(Box(-10, 990, 90, 1090), 1000, 1000) == Box(0, 900, 100, 1000)


def test_suggestions_are_clamped_and_ordered() -> None:
    assert suggestion_box([0.75, -0.2, 0.25, 1.3], 400, 200) == Box(100, 0, 300, 200)
    assert suggestion_box([0.5, 0.5, 0.5, 0.9], 400, 200) is None


def test_pixels_are_whole_and_inside() -> None:
    assert Box(-0.4, 0.6, 100.5, 4000.2).pixels(100, 50) == (0, 0, 100, 50)
    assert Box(99.9, 10, 100.0, 10.1).pixels(100, 50) == (99, 10, 100, 11)


def test_the_locked_original_aspect_is_exact_on_a_4k_square() -> None:
    """Seen: 2300×2301, 3265×3264, 1862×1863 with `original` on 4096² images."""
    from fractions import Fraction

    square = Fraction(1)
    for box in (Box(100.3, 200.6, 2400.2, 2501.4), Box(0, 0, 3265.4, 3264.2),
                Box(17.5, 3.5, 1879.6, 1866.9)):
        left, top, right, bottom = box.pixels(4096, 4096, square)
        assert right - left == bottom - top
    left, top, right, bottom = Box(0.2, 0, 1600.4, 900.3).pixels(4096, 4096, Fraction(16, 9))
    assert (right - left) * 9 == (bottom - top) * 16


def test_moving_never_changes_the_size_in_pixels() -> None:
    """Seen: moving a rectangle by its centre handle changed its size by 1 px."""
    start = Box(100.0, 100.0, 2400.4, 2400.4)
    sizes = set()
    for step in range(40):
        offset = step * 0.37
        left, top, right, bottom = Box(start.left + offset, start.top + offset / 3,
                                       start.right + offset, start.bottom + offset / 3
                                       ).pixels(4096, 4096)
        sizes.add((right - left, bottom - top))
    assert len(sizes) == 1
