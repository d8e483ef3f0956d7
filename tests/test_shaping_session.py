"""Shaped outputs through the daemon: the shape is stored per directory (journal op `shape`,
the summary's `output_shape`), every window on it agrees, a whole image is written shaped
and recorded `cropped`, and the audit `crop` event says `out_size`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images
from PIL import Image

from crop_client import shaping
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out

pytestmark = pytest.mark.timeout(60)


def _events(progress_dir: Path) -> list[dict]:
    return [json.loads(line) for day in sorted((progress_dir / "audit").glob("*.jsonl"))
            for line in day.read_text().splitlines() if line.strip()]


def test_the_shape_is_stored_and_every_window_uses_it(tmp_path: Path, daemon: InProcessDaemon,
                                                      progress_dir: Path) -> None:
    work = tmp_path / "set"
    make_images(work, 3, size=(1200, 900))
    with Session(daemon.endpoint, program="test") as first:
        opened = first.open(work, output_shape="max-side:600")
        assert opened.summary.output_shape == "max-side:600"
        assert "Outputs are shaped: max-side:600" in opened.messages
        with Session(daemon.endpoint, program="test") as second:
            assert second.open(work).summary.output_shape == "max-side:600"
        target = Target.from_opened(opened)
        target.shape = shaping.parse(opened.summary.output_shape)
        claimed = first.claim(target.directory, 2)
        carry_out(first, target, claimed.items[0], Decision("crop", (0, 0, 1000, 500)))
        reported = carry_out(first, target, claimed.items[1], Decision("keep"))
        assert reported.outcome == "cropped"          # whole, but shaped
    out = tmp_path / "set_cropped"
    assert Image.open(out / "img_0000.png").size == (600, 300)
    assert Image.open(out / "img_0001.png").size == (600, 450)
    record = json.loads((progress_dir / "set_progress.json").read_text())
    assert record["output_shape"] == "max-side:600"
    crops = [e for e in _events(progress_dir) if e["op"] == "crop"]
    assert [e["out_size"] for e in crops] == [[600, 300], [600, 450]]
    assert crops[1]["box"] == [0, 0, 1200, 900]
    assert [e["shape"] for e in _events(progress_dir) if e["op"] == "shape"] == ["max-side:600"]


def test_without_a_shape_a_whole_image_is_kept_byte_for_byte(
        tmp_path: Path, daemon: InProcessDaemon) -> None:
    work = tmp_path / "plain"
    make_images(work, 1, size=(300, 200))
    with Session(daemon.endpoint, program="test") as session:
        opened = session.open(work)
        assert opened.summary.output_shape is None
        target = Target.from_opened(opened)
        item = session.claim(target.directory, 1).items[0]
        assert carry_out(session, target, item, Decision("keep")).outcome == "kept"
    assert (tmp_path / "plain_cropped" / "img_0000.png").read_bytes() == \
        (work / "img_0000.png").read_bytes()
