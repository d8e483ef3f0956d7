"""Debug outputs of the window for tests and the benchmark, off unless asked for.

- `MULTICROP_DEBUG_STATE=FILE`: after every change on screen the window writes
  its state as JSON (phase, files shown, where each image sits on the screen,
  boxes, status lines), replacing the file atomically.
- `MULTICROP_TIMING_LOG=FILE`: one JSON line per milestone (`window`,
  `batch_shown`, `submit`, ...) with wall-clock `t` (time.time()).
- `MULTICROP_GEOMETRY=WxH+X+Y`: the window's size and place instead of the
  origin tool's 90% × 88% of the screen at the top left.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crop_progress import fsio

STATE_ENV = "MULTICROP_DEBUG_STATE"
TIMING_ENV = "MULTICROP_TIMING_LOG"
GEOMETRY_ENV = "MULTICROP_GEOMETRY"


class Instrument:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.state_file = Path(env[STATE_ENV]) if env.get(STATE_ENV) else None
        self.timing_file = Path(env[TIMING_ENV]) if env.get(TIMING_ENV) else None
        self.geometry = env.get(GEOMETRY_ENV) or None

    @property
    def wants_state(self) -> bool:
        return self.state_file is not None

    def event(self, name: str, **data: Any) -> None:
        if self.timing_file is None:
            return
        line = json.dumps({"event": name, "t": time.time(), **data})
        with self.timing_file.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def state(self, data: dict[str, Any]) -> None:
        if self.state_file is None:
            return
        fsio.atomic_write(self.state_file, json.dumps(data, ensure_ascii=False,
                                                      indent=1).encode("utf-8"), durable=False)
