"""The dashboard as the user runs it: `python -m crop_client.web` in a subprocess on a
port the OS picks, plain HTTP requests to it, and a reader of its server-sent events."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

URL_LINE = re.compile(r"^Dashboard: (http://\S+)$", re.M)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Dashboard:
    """A running dashboard process; stopped (by its pid) when the test ends."""

    def __init__(self, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crop_client.web", "--bind", "127.0.0.1:0", "--no-open",
             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env or os.environ.copy())
        self.url = self._wait_for_url(timeout)
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get(
            "token")

    def _wait_for_url(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        lines: list[str] = []
        found: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.append(line)
                match = URL_LINE.match(line.strip())
                if match:
                    found.append(match.group(1))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.stop()
            raise AssertionError(f"the dashboard printed no address: {lines} "
                                 f"{self.proc.stderr.read() if self.proc.stderr else ''}")
        return found[0]

    def request(self, path: str, method: str = "GET",
                headers: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                          body)
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Answer:
        return self.request(path, headers=headers)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EventStream:
    """Reads /events on a thread; `wait(pred)` returns the first event that satisfies it."""

    def __init__(self, board: Dashboard, path: str = "/events",
                 headers: dict[str, str] | None = None) -> None:
        self.conn = http.client.HTTPConnection(board.host, board.port, timeout=60)
        self.conn.request("GET", path, headers=headers or {})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events: list[tuple[float, str, dict]] = []
        self.opened = threading.Event()
        self._cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        kind, data = "message", []
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    self.opened.set()
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line:
                    if data:
                        with self._cond:
                            self.events.append((time.time(), kind, json.loads("".join(data))))
                            self._cond.notify_all()
                    kind, data = "message", []
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            # AttributeError: http.client when the connection is closed under the reader
            return

    def wait(self, pred, timeout: float = 20.0) -> tuple[float, str, dict]:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for item in self.events:
                    if pred(item[1], item[2]):
                        return item
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such event in {timeout} s: "
                                         f"{[(k, d.get('op')) for _, k, d in self.events]}")
                self._cond.wait(left)

    def close(self) -> None:
        self.conn.close()
