"""The backend thread with a fake Session: commands run in order in one thread, results come
back as events, and daemon trouble becomes exit codes or messages."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from crop_client.multicrop.gui import backend as bk
from crop_client.multicrop.gui.services import Services
from crop_protocol.messages import (
    Claimed,
    ClaimedImage,
    Opened,
    Reported,
    Summary,
    Undone,
    UndoneItem,
)


class Unavailable(Exception):
    pass


class Refused(Exception):
    pass


SUMMARY = Summary(directory="/w/", progress_file="/p.json", total_images=3)


@dataclass
class FakeSession:
    calls: list[tuple[str, Any]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    fail_discover: bool = False

    def _note(self, name: str, arg: Any = None) -> None:
        self.calls.append((name, arg))
        self.threads.add(threading.current_thread().name)

    def discover(self, directory: str) -> list[str]:
        self._note("discover", directory)
        if self.fail_discover:
            raise Refused("no such directory")
        return [directory + "/a/", directory + "/b/"]

    def open(self, directory: str, **options: Any) -> Opened:
        self._note("open", directory)
        return Opened(summary=SUMMARY, resumed=False)

    def claim(self, directory: str, count: int = 1, *,
              files: list[str] | None = None) -> Claimed:
        self._note("claim", count if files is None else files)
        names = files if files is not None else [f"{i}.png" for i in range(count)]
        items = [ClaimedImage(file=name, path=f"/w/{name}", position=i)
                 for i, name in enumerate(names)]
        return Claimed(items=items, summary=SUMMARY, lease_ttl=30)

    def undo(self, directory: str) -> Undone:
        self._note("undo", directory)
        return Undone(items=[UndoneItem(file="0.png", outcome="kept")], summary=SUMMARY)

    def release(self, directory: str, files: list[str] | None = None) -> int:
        self._note("release", files)
        return len(files or [])

    def close(self) -> None:
        self._note("close")


def _services(session: FakeSession, made: list[Any], *, unreachable: bool = False) -> Services:
    def make_session(endpoint: str | None, **kwargs: Any) -> FakeSession:
        if unreachable:
            raise Unavailable("nobody home")
        kwargs["on_notice"]("hello from the heartbeat")
        return session

    def carry_out(sess: Any, target: Any, item: ClaimedImage, decision: Any, *,
                  batch: str | None = None) -> Reported:
        made.append((item.file, decision, batch, threading.current_thread().name))
        if item.file == "bad.png":
            raise Refused("lease lost")
        return Reported(summary=SUMMARY)

    return Services(make_session=make_session, make_target=lambda opened, move, shape: ("t", move),
                    make_decision=lambda action, box: (action, box), carry_out=carry_out,
                    take_back=lambda target, item: [f"took back {item.file}"],
                    unavailable=(Unavailable,), daemon_error=(Refused,))


def _events(backend: bk.Backend, count: int) -> list[bk.Event]:
    """The next `count` events, leaving out `Saved` (one per image of a submit)."""
    found: list[bk.Event] = []
    while len(found) < count:
        event = backend.events.get(timeout=5)
        if not isinstance(event, bk.Saved):
            found.append(event)
    return found


def test_commands_run_in_the_backend_thread_file_work_in_order() -> None:
    session, made = FakeSession(), []
    backend = bk.Backend(_services(session, made), "ipc:///x")
    item = ClaimedImage(file="0.png", path="/w/0.png", position=1)
    for command in (bk.Discover(["/w"]), bk.Open("/w/a/"),
                    bk.Claim(directory="/w/a/", count=2),
                    bk.Submit("/w/a/", "batch-1", [bk.Entry(item, "crop", (1, 2, 3, 4))]),
                    bk.Undo(directory="/w/a/"), bk.Release(directory="/w/a/", files=["1.png"]),
                    bk.Close()):
        backend.post(command)
    backend.start()
    notice, *done = _events(backend, 8)
    assert isinstance(notice, bk.Notice) and notice.text == "hello from the heartbeat"
    # quick commands first, in their order; then the file work, in its order
    assert [type(e.command).__name__ for e in done] == [
        "Discover", "Open", "Claim", "Release", "Submit", "Undo", "Close"]
    assert done[0].result == ["/w/a/", "/w/b/"]
    assert [i.file for i in done[2].result.items] == ["0.png", "1.png"]
    assert done[4].result.outcomes == {"0.png": "crop"}
    assert done[5].problems == ["took back 0.png"]
    assert made[0][:3] == ("0.png", ("crop", (1, 2, 3, 4)), "batch-1")
    assert made[0][3].startswith("multicrop-save")       # file work beside the backend
    assert session.threads == {"multicrop-backend"}
    backend.join(5)
    assert not backend.alive


def test_a_claim_goes_ahead_of_the_rest_of_a_long_submit() -> None:
    session, made = FakeSession(), []
    services = _services(session, made)
    first_saving, go_on = threading.Event(), threading.Event()
    plain = services.carry_out

    def slow_carry_out(*args: Any, **kwargs: Any) -> Reported:
        if not first_saving.is_set():
            first_saving.set()
            go_on.wait(5)
        return plain(*args, **kwargs)

    services.carry_out = slow_carry_out
    backend = bk.Backend(services, None)
    backend.start()
    backend.post(bk.Open("/w/a/"))
    items = [ClaimedImage(file=f"{i}.png", path=f"/w/{i}.png", position=i) for i in range(2)]
    backend.post(bk.Submit("/w/a/", "b", [bk.Entry(i, "keep") for i in items]))
    assert first_saving.wait(5)
    backend.post(bk.Claim(directory="/w/a/", count=3))   # while the first image is being saved
    go_on.set()
    _notice, _opened, claimed, submitted = _events(backend, 4)
    assert isinstance(claimed.command, bk.Claim) and isinstance(submitted.command, bk.Submit)
    assert [c[0] for c in session.calls] == ["open", "claim"]
    assert sorted(m[0] for m in made) == ["0.png", "1.png"]
    backend.post(bk.Close())
    backend.join(5)


def test_the_images_of_a_batch_are_saved_at_once_and_counted_down() -> None:
    session, made = FakeSession(), []
    services = _services(session, made)
    inside, both = threading.Lock(), threading.Event()
    running = [0]
    plain = services.carry_out

    def carry_out(*args: Any, **kwargs: Any) -> Reported:
        with inside:
            running[0] += 1
            if running[0] == 2:
                both.set()
        both.wait(5)          # each waits until the other one is saving too
        return plain(*args, **kwargs)

    services.carry_out = carry_out
    backend = bk.Backend(services, None)
    backend.start()
    backend.post(bk.Open("/w/a/"))
    items = [ClaimedImage(file=f"{i}.png", path=f"/w/{i}.png", position=i) for i in range(2)]
    backend.post(bk.Submit("/w/a/", "b", [bk.Entry(i, "keep") for i in items]))
    events = [backend.events.get(timeout=5) for _ in range(5)]
    assert both.is_set()
    saved = [e for e in events if isinstance(e, bk.Saved)]
    assert sorted(e.file for e in saved) == ["0.png", "1.png"] and saved[0].batch == "b"
    assert isinstance(events[-1], bk.Done) and isinstance(events[-1].command, bk.Submit)
    assert len({m[3] for m in made}) == 2           # two saving threads
    backend.post(bk.Close())
    backend.join(5)


def test_an_unreachable_daemon_is_exit_code_2() -> None:
    backend = bk.Backend(_services(FakeSession(), [], unreachable=True), None)
    backend.start()
    (event,) = _events(backend, 1)
    assert isinstance(event, bk.Fatal) and event.code == 2 and "nobody home" in event.message


def test_a_refused_directory_is_exit_code_1_and_a_lost_lease_a_problem() -> None:
    session, made = FakeSession(fail_discover=True), []
    backend = bk.Backend(_services(session, made), None)
    backend.start()
    backend.post(bk.Discover(["/nope"]))
    bad = ClaimedImage(file="bad.png", path="/w/bad.png", position=1)
    backend.post(bk.Open("/w/a/"))
    backend.post(bk.Submit("/w/a/", "b", [bk.Entry(bad, "keep")]))
    _notice, fatal, _opened, submitted = _events(backend, 4)
    assert isinstance(fatal, bk.Fatal) and fatal.code == 1
    assert isinstance(submitted, bk.Done)
    assert submitted.result.outcomes == {"bad.png": "error"}
    assert submitted.problems == ["bad.png: lease lost"]
    backend.post(bk.Close())
    backend.join(5)


def test_an_unexpected_error_does_not_stop_the_thread() -> None:
    session = FakeSession()
    backend = bk.Backend(_services(session, []), None)
    backend.start()
    backend.post(bk.Undo(directory="/never/opened/"))          # no target: a KeyError inside
    _notice, failed = _events(backend, 2)
    backend.post(bk.Claim(directory="/w/a/", count=1))
    (claimed,) = _events(backend, 1)
    assert isinstance(failed, bk.Done) and failed.error and "KeyError" in failed.error
    assert isinstance(claimed, bk.Done) and claimed.error is None
    backend.post(bk.Close())
    backend.join(5)
    closed = backend.events.get(timeout=1)
    assert isinstance(closed, bk.Done) and isinstance(closed.command, bk.Close)
    with pytest.raises(queue.Empty):
        backend.events.get(timeout=0.2)
