"""GUI test fixtures: one Xvfb per test session on a free display, and a factory of real
multicrop windows talking to the test's in-process daemon (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gui.gui_driver import Window, Xvfb, have_tools


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    problem = have_tools()
    if problem:
        pytest.skip(f"GUI tests need a virtual display: {problem}")
    server = Xvfb()
    try:
        reason = server.tk_problem()
        if reason:
            pytest.skip(f"Tk cannot open a window under Xvfb: {reason}")
        yield server.display
    finally:
        server.stop()


@pytest.fixture
def open_window(x_display: str, cropd_endpoint: str,
                tmp_path: Path) -> Iterator[Callable[..., Window]]:
    """`open_window(folder, *args, name=, geometry=)`: a window; every one is closed at the end."""
    windows: list[Window] = []

    def start(folder: Path, *args: str, name: str = "w", geometry: str = "1400x900+0+0") -> Window:
        window = Window(x_display, folder, tmp_path, *args, name=name, geometry=geometry)
        windows.append(window)
        return window

    yield start
    for window in windows:
        window.close()
