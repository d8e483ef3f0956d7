"""Team mode set up in a studio (netns.py) the way a studio would do it, with the real
commands: `cropctl team init`, `team add`, `team join`, `team share`, a real
`cropd --listen`; windows (`multicrop --auto`) on the workstations whose every
line is collected as it comes; and a watcher that polls `cropctl status
--json` on the daemon host, so a test can tell when each claim came back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from procs import ACKED

from crop_progress import model, readonly
from crop_progress.audit import read_events
from team.netns import DAEMON_ADDRESS, Host, Studio, wait_until

PORT = 7390  # fixed: nothing else lives in the studio's namespaces
SHARE = "nas"


def cropctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "crop_client.cropctl", *args]


class Team:
    """The daemon host's team (keys, share, a running cropd) and its members."""

    def __init__(self, studio: Studio, ttl: float = 3.0, port: int = PORT) -> None:
        self.studio = studio
        self.ttl = ttl
        self.endpoint = f"tcp://{DAEMON_ADDRESS}:{port}"
        self.port = port
        self.daemon: subprocess.Popen[str] | None = None
        self.bundles: dict[str, Path] = {}
        self.members: dict[str, str] = {}  # workstation name -> member name

    @property
    def host(self) -> Host:
        return self.studio.daemon

    @property
    def progress_dir(self) -> Path:
        return self.host.home / ".local/share/crop-progress/crop_progress"

    def ctl(self, host: Host, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.studio.run(host, cropctl(*args), timeout=timeout)

    def must(self, host: Host, *args: str) -> str:
        done = self.ctl(host, *args)
        assert done.returncode == 0, (f"cropctl {' '.join(args)} on {host.name}: "
                                      f"exit {done.returncode}: {done.stdout}{done.stderr}")
        return done.stdout

    def init(self) -> None:
        self.must(self.host, "team", "init", "--listen", self.endpoint)
        self.must(self.host, "team", "share", SHARE, str(self.host.mount))

    def add(self, member: str) -> Path:
        bundle = self.host.root / f"{member}.bundle"
        self.must(self.host, "team", "add", member, "--out", str(bundle))
        self.bundles[member] = bundle
        return bundle

    def join(self, ws: Host, member: str, bundle: Path | None = None,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        """What a person does on a workstation: join with the bundle (the join tries the
        connection; `check`: it must work), say where the share is."""
        given = bundle or self.bundles[member]
        mine = ws.root / given.name  # the bundle travels to the workstation
        mine.write_bytes(given.read_bytes())
        mine.chmod(0o600)
        joined = self.ctl(ws, "team", "join", str(mine))
        if check:
            assert joined.returncode == 0, (f"cropctl team join on {ws.name}: exit "
                                            f"{joined.returncode}: {joined.stdout}{joined.stderr}")
        self.must(ws, "team", "share", SHARE, str(ws.mount))
        self.members[ws.name] = member
        return joined

    def start_daemon(self) -> None:
        self.daemon = self.studio.popen(self.host, [
            sys.executable, "-m", "cropd", "--listen", self.endpoint,
            "--lease-ttl", str(self.ttl)])
        wait_until(self._answering, f"cropd to answer on {self.endpoint} and its socket",
                   timeout=30, every=0.1)

    def _answering(self) -> bool:
        if self.daemon is not None and self.daemon.poll() is not None:
            _out, err = self.daemon.communicate()
            raise AssertionError(f"cropd exited {self.daemon.returncode}: {err}")
        ws = self.studio.workstations[0]
        return (self.studio.reachable(ws, port=self.port, refused_is_reachable=False)
                and self.ctl(self.host, "daemon", "status").returncode == 0)

    def stop_daemon(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()
            self.daemon.communicate(timeout=30)

    def kill_daemon(self) -> None:
        """SIGKILL cropd: nothing it did not already write survives."""
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.communicate(timeout=30)

    def status(self) -> dict:
        return json.loads(self.must(self.host, "status", "--json"))

    def completed(self, key: str) -> int:
        """How many images of the directory `key` are done, as the running daemon says."""
        for row in self.status().get("directories", []):
            if row.get("directory") == key:
                return int(row["completed_count"])
        raise AssertionError(f"the daemon does not list {key}")

    def progress(self, key: str) -> dict:
        """The progress of the directory named `key` (`nas:job/`) as every reader sees it:
        its file on the daemon host (a checkpoint) plus the journal after it."""
        for path in sorted(self.progress_dir.glob("*_progress.json")):
            found = json.loads(model.encode(readonly.read_record(path).progress))
            if found.get("directory") == key:
                return found
        names = [p.name for p in self.progress_dir.glob("*_progress.json")]
        raise AssertionError(f"no progress file of {key} in {self.progress_dir}: {names}")


@dataclass
class Window:
    """One `multicrop --auto center` on a workstation, its lines read as they come."""

    ws: Host
    aspect: str
    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    killed_at: float | None = None
    ended_seen: bool = False  # its end was looked at
    readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def open(cls, studio: Studio, ws: Host, directory: Path, aspect: str,
             per_batch: int) -> Window:
        proc = studio.popen(ws, [sys.executable, "-m", "crop_client.multicrop", str(directory),
                                 "--auto", "center", "--aspect", aspect,
                                 "--per-batch", str(per_batch)])
        window = cls(ws, aspect, proc)
        for stream, lines in ((proc.stdout, window.out), (proc.stderr, window.err)):
            reader = threading.Thread(target=_collect, args=(stream, lines), daemon=True)
            reader.start()
            window.readers.append(reader)
        return window

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> float:
        self.proc.kill()
        self.killed_at = time.monotonic()
        return self.killed_at

    def finish(self, timeout: float = 300) -> int:
        rc = self.proc.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=30)
        return rc

    def acked(self) -> set[str]:
        return set(ACKED.findall("".join(self.out)))

    def acked_count(self) -> int:
        return len(ACKED.findall("".join(self.out)))


def _collect(stream: object, lines: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.append(line)


@dataclass
class Poll:
    started: float
    ended: float
    holders: list[dict] | None  # None: the status call failed


class Watcher:
    """Polls `cropctl status --json` on the daemon host until stopped; keeps every poll."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self.polls: list[Poll] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            done = self.team.ctl(self.team.host, "status", "--json")
            ended = time.monotonic()
            holders: list[dict] | None = None
            if done.returncode == 0:
                found = json.loads(done.stdout)
                holders = [h for d in found.get("directories", []) for h in d.get("holders", [])]
            else:
                self.errors.append(done.stderr.strip())
            self.polls.append(Poll(started, ended, holders))

    def latest(self) -> Poll | None:
        return self.polls[-1] if self.polls else None

    def after(self, moment: float) -> list[Poll]:
        return [p for p in self.polls if p.started >= moment and p.holders is not None]

    def wait_for_poll_after(self, moment: float, timeout: float = 30) -> Poll:
        found = wait_until(lambda: self.after(moment), "a status poll", timeout=timeout)
        return found[0]  # type: ignore[index]


def holds(holders: list[dict], host: str, pid: int | None = None) -> list[dict]:
    """The holders entries of a window (host and pid) or of a whole host (pid None)."""
    return [h for h in holders if h.get("host") == host and (pid is None or h.get("pid") == pid)
            and h.get("files")]


def last_heard(progress_dir: Path, key: str, clients: set[str]) -> float | None:
    """The latest journal event (a claim, a report) of any of `clients`, on this
    process's monotonic clock: a claim sent before a kill or a cut may be granted
    after it, and its lease runs from then."""
    latest = None
    for event in read_events(progress_dir / "audit", directory=key):
        if event.client is not None and event.client.id in clients:
            latest = event.ts
    if latest is None:
        return None
    wall = datetime.fromisoformat(latest.replace("Z", "+00:00")).timestamp()
    return wall - (time.time() - time.monotonic())


def clients_of(watcher: Watcher, host: str, pid: int | None = None) -> set[str]:
    return {h["client"] for p in watcher.polls for h in holds(p.holders or [], host, pid)}


def reclaim(watcher: Watcher, moment: float, bound: float, host: str, pid: int | None = None,
            heard: float | None = None) -> tuple[float, float, bool]:
    """When the claims of a window (or a host) came back after `moment` (its kill or
    cut): the first poll that started after it and no longer lists them. Returns
    (at least, at most) seconds after `moment`, and whether they had any claim just
    before. Fails when a poll that started more than `bound` seconds after the
    daemon last heard from them (`moment`, or `heard` when later) still lists them."""
    deadline = max(moment, heard or moment) + bound
    before = [p for p in watcher.polls if p.started < moment and p.holders is not None]
    had = bool(before and holds(before[-1].holders or [], host, pid))
    last_seen = moment
    for poll in watcher.after(moment):
        listed = holds(poll.holders or [], host, pid)
        if not listed:
            return last_seen - moment, poll.ended - moment, had
        assert poll.started <= deadline, (
            f"claims of {host} pid {pid} still held {poll.started - moment:.2f} s after "
            f"they were cut off (deadline {deadline - moment:.2f} s): {listed}")
        last_seen = poll.started
    raise AssertionError(f"no status poll after the claims of {host} pid {pid} were cut off")
