"""The GUI tests' X display: taken atomically by Xvfb itself, optionally within the range
of $CROP_TEST_DISPLAYS, so parallel runs on one machine never share one."""

from __future__ import annotations

import shutil

import pytest

from gui.gui_driver import DISPLAYS_ENV, Xvfb, display_range

pytestmark = pytest.mark.timeout(90)


def test_display_range_parses_the_variable() -> None:
    assert display_range("") is None
    assert display_range("120") == range(120, 121)
    assert display_range(" 100-199 ") == range(100, 200)
    for bad in ("abc", "20-10", "1-x"):
        with pytest.raises(RuntimeError, match=DISPLAYS_ENV):
            display_range(bad)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed")
@pytest.mark.parametrize("numbers", [None, range(240, 260)])
def test_two_servers_never_share_a_display(numbers: range | None) -> None:
    first = Xvfb(numbers)
    try:
        second = Xvfb(numbers)
        try:
            assert first.number != second.number
            if numbers is not None:
                assert first.number in numbers and second.number in numbers
            assert first.process.poll() is None and second.process.poll() is None
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed")
def test_the_variable_chooses_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISPLAYS_ENV, "261-270")
    server = Xvfb()
    try:
        assert 261 <= server.number <= 270
        assert server.display == f":{server.number}"
    finally:
        server.stop()
