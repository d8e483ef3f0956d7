"""Driving a real multicrop window from a test: start it, read its debug state, press keys
and drag the mouse with xdotool, take a screenshot, quit.

The window writes its state (phase, files shown, where each image sits on the
screen) to a JSON file when `MULTICROP_DEBUG_STATE` is set; the driver reads
it rather than guessing coordinates.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

State = dict[str, Any]
SCREEN = (1600, 1000)


DISPLAYS_ENV = "CROP_TEST_DISPLAYS"
"""X display numbers the GUI tests may take, as `100-199` (or one number); unset: the
first free one, chosen by Xvfb itself."""


def display_range(text: str | None = None) -> range | None:
    """The numbers of $CROP_TEST_DISPLAYS (`A-B`, both included, or `A`), None when unset."""
    text = os.environ.get(DISPLAYS_ENV, "") if text is None else text
    if not text.strip():
        return None
    first, _, last = text.strip().partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise RuntimeError(f"{DISPLAYS_ENV}={text!r}: expected a number or a range such as "
                           "100-199") from None
    if not 0 <= low <= high:
        raise RuntimeError(f"{DISPLAYS_ENV}={text!r}: expected 0 <= first <= last")
    return range(low, high + 1)


class Xvfb:
    """An Xvfb on a free display, taken atomically: with `-displayfd` the server itself
    binds the first free display (or tries the one asked) and writes its number back
    once it accepts connections, so two test runs never race for one number."""

    def __init__(self, numbers: range | None = None,
                 screen: tuple[int, int] = SCREEN) -> None:
        numbers = display_range() if numbers is None else numbers
        self.screen = screen
        errors: list[str] = []
        for number in [None] if numbers is None else numbers:
            started = self._start(number, errors)
            if started is not None:
                self.number = started
                self.display = f":{started}"
                return
        where = "any display" if numbers is None else f"displays {numbers.start}-{numbers.stop - 1}"
        raise RuntimeError(f"Xvfb did not start on {where}: {(errors or ['?'])[-1][-300:]}")

    def _start(self, number: int | None, errors: list[str]) -> int | None:
        read_end, write_end = os.pipe()
        args = ["Xvfb"] + ([f":{number}"] if number is not None else [])
        self.process = subprocess.Popen(
            [*args, "-displayfd", str(write_end), "-screen", "0",
             f"{self.screen[0]}x{self.screen[1]}x24", "-nolisten", "tcp", "-noreset"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(write_end,))
        os.close(write_end)
        answer = b""
        try:
            deadline = time.monotonic() + 30
            while not answer.endswith(b"\n") and time.monotonic() < deadline:
                ready, _, _ = select.select([read_end], [], [], deadline - time.monotonic())
                chunk = os.read(read_end, 64) if ready else b""
                if not chunk:
                    break  # EOF: the server gave up on this display
                answer += chunk
        finally:
            os.close(read_end)
        if answer.strip().isdigit():
            return int(answer)
        self.stop()
        errors.append(self.process.stderr.read().decode(errors="replace")
                      if self.process.stderr else "no output")
        return None

    def tk_problem(self) -> str | None:
        """Why Tk cannot open a window on this display, or None when it can."""
        probe = subprocess.run(
            [sys.executable, "-c", "import tkinter; tkinter.Tk().destroy()"],
            env={**os.environ, "DISPLAY": self.display}, capture_output=True, text=True,
            timeout=30)
        if probe.returncode == 0:
            return None
        return (probe.stderr.strip().splitlines() or ["unknown error"])[-1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Window:
    """One `python -m crop_client.multicrop` process with a window on the test display."""

    def __init__(self, display: str, folder: Path, tmp: Path, *args: str, name: str = "w",
                 geometry: str = "1400x900+0+0") -> None:
        self.display = display
        self.tmp = tmp
        self.name = name
        self.state_file = tmp / f"{name}-state.json"
        self.timing_file = tmp / f"{name}-timing.jsonl"
        self.stdout_file = tmp / f"{name}-stdout.txt"
        self.stderr_file = tmp / f"{name}-stderr.txt"
        for path in (self.state_file, self.timing_file):
            path.unlink(missing_ok=True)
        env = {**os.environ, "DISPLAY": display,
               "MULTICROP_DEBUG_STATE": str(self.state_file),
               "MULTICROP_TIMING_LOG": str(self.timing_file),
               "MULTICROP_GEOMETRY": geometry}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crop_client.multicrop", str(folder), *args], env=env,
            stdout=self.stdout_file.open("w"), stderr=self.stderr_file.open("w"))
        self.window_id = ""
        self._pointer: tuple[int, int] | None = None

    # --- reading the window ---------------------------------------------------------

    def state(self) -> State | None:
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def wait(self, predicate: Callable[[State], bool], what: str, timeout: float = 15) -> State:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.state()
            if state is not None and predicate(state):
                return state
            if self.process.poll() is not None:
                break
            time.sleep(0.03)
        raise AssertionError(f"{self.name}: timed out waiting for {what}; last state: "
                             f"{_brief(state)}; stderr: {self.stderr()[-800:]}")

    def wait_batch(self, after: int | None = None, timeout: float = 15) -> State:
        """The next batch fully shown (its serial differs from `after`)."""
        state = self.wait(lambda s: s["phase"] == "batch" and s["serial"] != after,
                          "a batch on screen", timeout)
        self._find_window()
        return state

    def wait_phase(self, phase: str, timeout: float = 15) -> State:
        return self.wait(lambda s: s["phase"] == phase, f"phase {phase}", timeout)

    def stdout(self) -> str:
        return self.stdout_file.read_text(encoding="utf-8") if self.stdout_file.exists() else ""

    def stderr(self) -> str:
        return self.stderr_file.read_text(encoding="utf-8") if self.stderr_file.exists() else ""

    # --- driving it ----------------------------------------------------------------

    def _xdotool(self, *args: str) -> str:
        result = subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": self.display},
                                capture_output=True, text=True, timeout=20)
        if result.returncode != 0:
            raise AssertionError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def _find_window(self) -> None:
        """The window's top-level X window, the one that takes the keyboard focus. Tk sets
        no _NET_WM_PID and several windows share a title: of the windows named
        multicrop, take the one at the place the window's state gives."""
        if self.window_id:
            return
        state = self.wait(lambda s: "window" in s, "the window's place")
        x, y = state["window"][:2]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = self._xdotool("search", "--sync", "--onlyvisible", "--name", "^multicrop")
            for window_id in found.split():
                geometry = self._xdotool("getwindowgeometry", window_id)
                if f"Position: {x},{y} " in geometry + " ":
                    self.window_id = window_id
                    return
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: no window named multicrop at {x},{y}")

    def focus(self) -> None:
        """Give the window the keyboard focus, and wait until Tk says it has it (without a
        window manager, Tk may miss a focus change: ask again)."""
        self._find_window()
        for _attempt in range(20):
            self._xdotool("windowfocus", "--sync", self.window_id)
            try:
                self.wait(lambda s: s.get("focus"), "the keyboard focus", timeout=0.5)
                return
            except AssertionError:
                continue
        raise AssertionError(f"{self.name}: the window never got the keyboard focus")

    def key(self, *keys: str) -> None:
        self.focus()
        self._xdotool("key", "--delay", "40", *keys)

    def drag(self, start: tuple[int, int], end: tuple[int, int], button: int = 1,
             hold: str | None = None) -> None:
        """Press at `start`, move in steps, release at `end` (screen pixels); with `hold`
        (a key such as "shift") held down all along."""
        self.focus()
        (x1, y1), (x2, y2) = start, end
        steps = [(round(x1 + (x2 - x1) * i / 6), round(y1 + (y2 - y1) * i / 6))
                 for i in range(1, 7)]
        self._pointer = None            # another window's driver may have moved it
        args = [*self._move_to(x1, y1), *(["keydown", hold] if hold else []),
                "mousedown", str(button)]
        for x, y in steps:
            args += self._move_to(x, y)
        args += ["mouseup", str(button), *(["keyup", hold] if hold else [])]
        self._xdotool(*args)

    def _move_to(self, x: int, y: int) -> list[str]:
        """xdotool's `mousemove --sync` to where the pointer already is waits for a motion
        that never comes: skip such moves."""
        if self._pointer is None:
            where = self._xdotool("getmouselocation", "--shell")
            place = dict(line.split("=", 1) for line in where.splitlines() if "=" in line)
            self._pointer = (int(place["X"]), int(place["Y"]))
        if self._pointer == (x, y):
            return []
        self._pointer = (x, y)
        return ["mousemove", "--sync", str(x), str(y)]

    def hover(self, x: int, y: int) -> None:
        """Move the pointer there (no button), as a person looking closer would."""
        self.focus()
        self._pointer = None
        moves = self._move_to(x, y)
        if moves:
            self._xdotool(*moves)

    def type_text(self, text: str) -> None:
        self._xdotool("type", "--delay", "40", text)

    def click(self, x: int, y: int) -> None:
        self._pointer = None
        self._xdotool(*self._move_to(x, y), "click", "1")

    def click_button(self, name: str) -> None:
        state = self.state()
        assert state is not None
        x, y, w, h = state["buttons"][name]
        self.click(x + w // 2, y + h // 2)

    def screenshot(self, path: Path) -> Path:
        from PIL import ImageGrab

        ImageGrab.grab(xdisplay=self.display).save(path)
        return path

    def quit(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.key("q")
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        return self.close()

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def image_point(column: State, fx: float, fy: float) -> tuple[int, int]:
    """The screen pixel showing full-resolution image point (fx, fy) of a column."""
    ox, oy = column["image_screen"]
    shown_w, shown_h = column["shown_size"]
    full_w, full_h = column["full_size"]
    return (ox + int(fx * shown_w / full_w), oy + int(fy * shown_h / full_h))


def drawn_size(column: State, start: tuple[int, int], end: tuple[int, int]) -> tuple[float, float]:
    """Full-resolution size of a rectangle drawn from screen pixel `start` to `end` (both
    pixels included, as the window draws it)."""
    shown_w, shown_h = column["shown_size"]
    full_w, full_h = column["full_size"]
    return ((abs(end[0] - start[0]) + 1) * full_w / shown_w,
            (abs(end[1] - start[1]) + 1) * full_h / shown_h)


def root_conftest() -> Any:
    """tests/conftest.py as a module (both conftest modules are named `conftest`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "tests_root_conftest", Path(__file__).resolve().parent.parent / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def make_images(folder: Path, count: int, **kwargs: Any) -> list[Path]:
    """tests/conftest.py's `make_images`."""
    return root_conftest().make_images(folder, count, **kwargs)


def trash_files() -> set[str]:
    """Names in the home trash (under the test's own XDG_DATA_HOME)."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share")
    files = data_home / "Trash" / "files"
    return {p.name for p in files.iterdir()} if files.is_dir() else set()


def have_tools() -> str | None:
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed (apt-get install xvfb xdotool)" \
        if missing else None


def _brief(state: State | None) -> str:
    if state is None:
        return "none"
    keys = ("phase", "serial", "files", "waiting", "alert", "done_text", "progress")
    return json.dumps({k: state.get(k) for k in keys}, ensure_ascii=False)
