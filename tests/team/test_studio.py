"""Team mode end to end in an isolated studio (issue 15's Proof): one daemon host, three
workstations that mount the share at their own paths, each with its own member key.

The scenario: 3 workstations x 2 windows (`multicrop --auto center`) on 2,000
images, windows SIGKILLed at random (a person opens a new one), one
workstation cut off past the lease TTL and then healed. The checker counts
what the clients did: every window prints a line per acknowledged report, and
each window crops to its own aspect, so an output's size tells which window
wrote it. At the end: 0 images acknowledged to two windows, 0 lost, every image
completed exactly once in the progress file read back on the daemon host,
every output of its acknowledged window's size, 0 stray `.part` files, and
every claim of a killed or cut-off window back within TTL + one sweep
(`cropctl status --json` holders, polled on the daemon host; the bound is a
deadline waited against: a poll that started after it and still lists the
claim fails the test).

The keys: a revoked member is refused at its next connection; an unknown key, a
wrong server key and no daemon are each told apart in one line, exit 2.
"""

from __future__ import annotations

import collections
import json
import random
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import zmq
from conftest import make_images
from PIL import Image

from crop_client.aspect import center_box, parse_aspect
from crop_progress.audit import read_events
from cropd.config import TICK_SECONDS
from team.netns import Host, Studio
from team.team import SHARE, Team, Watcher, Window, clients_of, holds, last_heard, reclaim

IMAGES = 2000  # 10,000 with --long
SIZE = (32, 24)  # small: the scenario is about who did what, not about pixels
TTL = 3.0
SWEEP = TICK_SECONDS  # how often the daemon looks at its leases
KILLS = 8  # 40 with --long
MEMBERS = ("alice", "bob", "carol")
# Two windows per workstation, one aspect per window: the output's size tells who wrote it.
ASPECTS = (("1:1", "16:9"), ("3:2", "2:1"), ("3:4", "9:16"))


def out_size(aspect: str) -> tuple[int, int]:
    x0, y0, x1, y1 = center_box(*SIZE, parse_aspect(aspect).for_image(*SIZE))
    return x1 - x0, y1 - y0


OUT_SIZE = {aspect: out_size(aspect) for pair in ASPECTS for aspect in pair}
assert len(set(OUT_SIZE.values())) == len(OUT_SIZE), OUT_SIZE


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines}"
    return lines[0]


def a_team(studio: Studio, members: tuple[str, ...] = MEMBERS) -> Team:
    """The daemon host's team with one member per workstation, joined and sharing."""
    team = Team(studio, ttl=TTL)
    team.init()
    for ws, member in zip(studio.workstations, members, strict=False):
        team.join(ws, member, team.add(member))
    team.start_daemon()
    return team


class Scenario:
    """The windows of the studio and what happened to them."""

    def __init__(self, studio: Studio, team: Team, work: str, rng: random.Random) -> None:
        self.studio = studio
        self.team = team
        self.work = work
        self.rng = rng
        self.windows: list[Window] = []
        self.kills: list[tuple[Window, float]] = []
        self.reopened_after_cut = 0
        self.cut_off: list[Window] = []  # the windows running on the workstation when cut

    def open(self, ws: Host, aspect: str) -> Window:
        window = Window.open(self.studio, ws, ws.mount / self.work, aspect,
                             per_batch=self.rng.randint(1, 3))
        self.windows.append(window)
        return window

    def acked(self) -> int:
        return sum(w.acked_count() for w in self.windows)

    def kill_one(self, spare: Host | None) -> bool:
        """SIGKILL a random running window (none of `spare`'s) and open a new one there."""
        alive = [w for w in self.windows if w.running() and w.ws is not spare]
        at_work = [w for w in alive if w.acked_count()]  # one that holds claims, likely
        alive = at_work or alive
        if not alive:
            return False
        victim = self.rng.choice(alive)
        self.kills.append((victim, victim.kill()))
        self.open(victim.ws, victim.aspect)
        return True

    def check_ended(self) -> list[Window]:
        """Windows that ended on their own must have ended well; a window that ran on the
        cut-off workstation may have given up on the daemon (exit 2, one line, during
        the cut or soon after): it is returned, to be opened again after the heal."""
        gave_up = []
        for w in self.windows:
            rc = w.proc.poll()
            if rc is None or w.killed_at is not None or w.ended_seen:
                continue
            w.ended_seen = True
            if rc == 2 and any(w is c for c in self.cut_off):
                w.finish()
                assert len([line for line in w.err if line.strip()]) == 1, w.err
                gave_up.append(w)
                continue
            w.finish()
            assert rc == 0, f"window on {w.ws.name} exited {rc}: {''.join(w.err)}"
            assert "Traceback" not in "".join(w.err), "".join(w.err)
        return gave_up


@pytest.mark.timeout(900)
def test_three_workstations_two_windows_each_kills_and_a_partition(
        studio_factory: Callable[..., Studio], long_run: bool) -> None:
    images, kills = (10_000, 40) if long_run else (IMAGES, KILLS)
    started = time.monotonic()
    studio = studio_factory(workstations=3)
    team = a_team(studio)
    work = studio.share / "job"
    make_images(work, images, size=SIZE)
    key = f"{SHARE}:job/"
    rng = random.Random(20261215)
    run = Scenario(studio, team, "job", rng)
    figures: dict[str, object] = {"images": images, "ttl_s": TTL}
    cut_ws = rng.choice(studio.workstations)
    cut_after = int(images * rng.uniform(0.2, 0.4))  # acknowledged images before the cut
    # The kills come at random moments of the work (so they all happen, however fast it goes).
    kill_marks = sorted(int(images * rng.uniform(0.05, 0.9)) for _ in range(kills))
    cut_at: float | None = None
    healed_at: float | None = None
    partition_reclaim: tuple[float, float, bool] | None = None
    waiting_for_heal: list[Window] = []
    end = time.monotonic() + 600
    with Watcher(team) as watcher:
        for ws, pair in zip(studio.workstations, ASPECTS, strict=True):
            for aspect in pair:
                run.open(ws, aspect)
        while any(w.running() for w in run.windows):
            assert time.monotonic() < end, "the windows did not finish in 600 s"
            time.sleep(rng.uniform(0.05, 0.2))  # the moments are random on purpose
            cutting = cut_at is not None and healed_at is None
            waiting_for_heal += run.check_ended()
            if cut_at is None and run.acked() >= cut_after:
                run.cut_off = [w for w in run.windows if w.ws is cut_ws and w.running()]
                studio.partition(cut_ws)
                cut_at = time.monotonic()
                continue
            if cutting and cut_at is not None:
                deadline = cut_at + TTL + SWEEP  # (reclaim() checks it, from the last word heard)
                polls = watcher.after(cut_at)
                back = [p for p in polls if not holds(p.holders or [], cut_ws.hostname)]
                late = [p for p in polls if p.started > deadline]
                if (back or late) and time.monotonic() >= cut_at + 2 * TTL:
                    heard = last_heard(team.progress_dir, key,
                                       clients_of(watcher, cut_ws.hostname))
                    partition_reclaim = reclaim(watcher, cut_at, TTL + SWEEP, cut_ws.hostname,
                                                heard=heard)
                    studio.heal(cut_ws)
                    healed_at = time.monotonic()
                    studio.wait_reachable(cut_ws)
            if healed_at is not None:
                for gone in waiting_for_heal:  # the person opens them again
                    run.reopened_after_cut += 1
                    run.open(gone.ws, gone.aspect)
                waiting_for_heal.clear()
            while kill_marks and run.acked() >= kill_marks[0] and \
                    run.kill_one(spare=cut_ws if cutting else None):
                kill_marks.pop(0)
        for gone in run.check_ended():
            run.reopened_after_cut += 1
            assert run.open(gone.ws, gone.aspect).finish() == 0
        assert cut_at is not None and healed_at is not None, (
            f"the work ended before the partition ({run.acked()} acknowledged)")
        assert len(run.kills) == kills, f"the work ended after {len(run.kills)} kills"
        # What the killed windows held comes back after the TTL: windows opened then finish it.
        closing = 0
        while team.completed(key) < images:
            assert time.monotonic() < end, "the directory was not finished in 600 s"
            last = watcher.latest()
            if last is None or last.holders:
                time.sleep(0.1)
                continue
            window = run.open(studio.workstations[0], ASPECTS[0][0])
            assert window.finish() == 0, "".join(window.err)
            closing += 1
        kill_reclaims = [reclaim_after(watcher, team, key, w, at) for w, at in run.kills]
    assert partition_reclaim is not None
    check_holders(watcher, team)
    team.kill_daemon()  # no last checkpoint: what was acknowledged is in the journal after it
    figures.update(check_outcomes(run, team, work, key, images))
    figures.update({
        "windows": len(run.windows), "kills": len(run.kills),
        "kills seen holding claims": sum(1 for _lo, _hi, had in kill_reclaims if had),
        "closing windows": closing, "reopened after the cut": run.reopened_after_cut,
        "partition_s": round((healed_at or 0) - (cut_at or 0), 1),
        # seen held by the poll that started at lo, gone in the one that ended at hi
        "cut claims back_s": [round(partition_reclaim[0], 2), round(partition_reclaim[1], 2)],
        "cut host seen holding claims": partition_reclaim[2],
        "worst kill reclaim_s": [round(max(lo for lo, _hi, _had in kill_reclaims), 2),
                                 round(max(hi for _lo, hi, _had in kill_reclaims), 2)],
        "bound_s": TTL + SWEEP, "status polls": len(watcher.polls),
        "poll interval_s": round((watcher.polls[-1].ended - watcher.polls[0].started)
                                 / len(watcher.polls), 2),
        "seconds": round(time.monotonic() - started, 1)})
    print(f"\nstudio scenario: {json.dumps(figures)}")


def reclaim_after(watcher: Watcher, team: Team, key: str, window: Window,
                  at: float) -> tuple[float, float, bool]:
    """Waits (deadline TTL + one sweep) until the killed window's claims are back."""
    heard = last_heard(team.progress_dir, key,
                       clients_of(watcher, window.ws.hostname, window.pid))
    deadline = max(at, heard or at) + TTL + SWEEP
    end = time.monotonic() + 60
    while True:
        polls = watcher.after(at)
        if any(not holds(p.holders or [], window.ws.hostname, window.pid) for p in polls) or \
                any(p.started > deadline for p in polls):
            return reclaim(watcher, at, TTL + SWEEP, window.ws.hostname, window.pid, heard)
        assert time.monotonic() < end, "no status poll after a kill"
        time.sleep(0.05)


HOLDER_FIELDS = {"user", "host", "pid", "program", "client", "files", "expires_in"}


def check_holders(watcher: Watcher, team: Team) -> None:
    """Every holder the daemon host saw is a member's window, named by its member."""
    member_of = {ws.hostname: team.members[ws.name] for ws in team.studio.workstations}
    seen = 0
    for poll in watcher.polls:
        for holder in poll.holders or []:
            assert set(holder) >= HOLDER_FIELDS, holder
            assert holder["user"] == member_of.get(holder["host"]), holder
            assert holder["program"] == "multicrop --auto", holder
            assert 0 <= holder["expires_in"] <= TTL, holder
            seen += 1
    assert seen, "no status poll saw a holder"


def check_outcomes(run: Scenario, team: Team, work: Path, key: str,
                   images: int) -> dict[str, int]:
    by_image: dict[str, list[Window]] = collections.defaultdict(list)
    for window in run.windows:
        for image in window.acked():
            by_image[image].append(window)
    twice = {image: [(w.ws.name, w.pid) for w in who] for image, who in by_image.items()
             if len(who) > 1}
    assert not twice, f"images acknowledged to two windows: {twice}"
    data = team.progress(key)
    completed = data["completed_files"]
    names = {p.name for p in work.glob("*.png")}
    assert len(names) == images
    assert len(completed) == len(set(completed)) == images, "an image completed twice"
    assert set(completed) == names
    lost = set(by_image) - set(completed)
    assert not lost, f"acknowledged outcomes lost: {sorted(lost)}"
    journal = collections.Counter[str]()
    users = set()
    for event in read_events(team.progress_dir / "audit", directory=key):
        if event.op in ("crop", "keep"):
            journal[event.file or ""] += 1
            users.add(getattr(event.client, "user", None))
        elif event.op == "undo":
            journal[event.file or ""] -= 1
    assert set(journal) == names and set(journal.values()) == {1}, \
        {k: v for k, v in journal.items() if v != 1}
    assert users <= set(MEMBERS) and users, f"audit client.user: {users}"
    out_dir = work.parent / f"{work.name}_cropped"
    wrong = {}
    for image, (window,) in by_image.items():
        with Image.open(out_dir / image) as im:
            if im.size != OUT_SIZE[window.aspect]:
                wrong[image] = (window.ws.name, window.aspect, im.size)
    assert not wrong, f"outputs not the size their window made: {wrong}"
    unprinted = set(completed) - set(by_image)  # killed between its ack and its line
    for image in unprinted:
        with Image.open(out_dir / image) as im:
            assert im.size in OUT_SIZE.values(), (image, im.size)
    stray = sorted(str(p.relative_to(work.parent)) for p in work.parent.rglob("*")
                   if p.name.startswith(".") or p.name.endswith(".part"))
    assert not stray, f"stray files on the share: {stray}"
    assert {p.name for p in out_dir.glob("*.png")} == names
    lease_lost = sum("".join(w.out).count("↪️") for w in run.windows)
    return {"acknowledged": len(by_image), "acknowledged unprinted": len(unprinted),
            "done twice": len(twice), "lost": len(lost), "stray": len(stray),
            "late reports refused": lease_lost}


def window_argv(directory: Path, aspect: str = "1:1") -> list[str]:
    return [sys.executable, "-m", "crop_client.multicrop", str(directory), "--auto", "center",
            "--aspect", aspect]


def fresh_keys() -> tuple[str, str]:
    public, secret = zmq.curve_keypair()
    return public.decode(), secret.decode()


def forged(bundle: Path, where: Path, **keys: str) -> Path:
    """A copy of a join bundle with some of its keys replaced."""
    data = json.loads(bundle.read_text())
    assert set(keys) <= set(data), f"bundle fields: {sorted(data)}"
    data.update(keys)
    where.write_text(json.dumps(data))
    where.chmod(0o600)
    return where


@pytest.mark.timeout(300)
def test_unknown_key_wrong_server_key_revoked_member_and_no_daemon_told_apart(
        studio_factory: Callable[..., Studio]) -> None:
    studio = studio_factory(workstations=3)
    team = a_team(studio, members=("alice",))
    ws0, ws1, ws2 = studio.workstations
    bundle = team.bundles["alice"]
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    team_dir = team.progress_dir / "team"
    assert stat.S_IMODE(team_dir.stat().st_mode) == 0o700
    secrets = [p for p in team_dir.rglob("*") if p.is_file() and "secret" in p.name]
    assert secrets, sorted(p.name for p in team_dir.rglob("*"))
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    public, secret = fresh_keys()
    # Joining tries the connection at once: both forged bundles are told apart already there.
    joined_unknown = team.join(ws1, "mallory", forged(bundle, studio.root / "mallory.bundle",
                                                       public_key=public, secret_key=secret),
                               check=False)
    joined_wrong = team.join(ws2, "alice", forged(bundle, studio.root / "impostor.bundle",
                                                   server_key=fresh_keys()[0]), check=False)
    assert team.ctl(ws0, "status").returncode == 0
    unknown = team.ctl(ws1, "status")
    wrong_server = team.ctl(ws2, "status")
    make_images(studio.share / "job", 5, size=SIZE)
    crop_unknown = studio.run(ws1, window_argv(ws1.mount / "job"))
    crop_wrong = studio.run(ws2, window_argv(ws2.mount / "job"))
    for done in (joined_unknown, joined_wrong, unknown, wrong_server, crop_unknown, crop_wrong):
        assert done.returncode == 2, done.stdout + done.stderr
    unknown_line = one_line(unknown.stderr)
    wrong_line = one_line(wrong_server.stderr)
    assert one_line(joined_unknown.stderr) == unknown_line
    assert one_line(joined_wrong.stderr) == wrong_line
    # multicrop says the same, in its own name
    assert one_line(crop_unknown.stderr).partition(": ")[2] == unknown_line.partition(": ")[2]
    assert one_line(crop_wrong.stderr).partition(": ")[2] == wrong_line.partition(": ")[2]
    assert not (studio.share / "job_cropped").exists()
    assert unknown_line != wrong_line
    assert "refused" in unknown_line.lower(), unknown_line
    assert "server" in wrong_line.lower(), wrong_line
    team.must(team.host, "team", "revoke", "alice")
    listed = team.must(team.host, "team", "list")
    assert any("alice" in line and "revoked" in line for line in listed.splitlines()), listed
    revoked = team.ctl(ws0, "status")
    assert revoked.returncode == 2, revoked.stdout + revoked.stderr
    revoked_line = one_line(revoked.stderr)
    assert revoked_line != wrong_line
    team.add("bob")
    team.join(ws2, "bob")  # the right bundle after the wrong one: joined again, it works
    assert team.ctl(ws2, "status").returncode == 0
    team.stop_daemon()
    gone = team.ctl(ws2, "status")
    assert gone.returncode == 2, gone.stdout + gone.stderr
    gone_line = one_line(gone.stderr)
    assert len({unknown_line, wrong_line, gone_line}) == 3, (unknown_line, wrong_line, gone_line)
    print(f"\nrefused key: {unknown_line}\nwrong server key: {wrong_line}\n"
          f"revoked: {revoked_line}\nno daemon: {gone_line}")


def watch_holders(team: Team, windows: list[Window], keys: set[str]) -> dict[str, dict]:
    """The first holder entry seen of each host, on the directories `keys`, while the
    windows run."""
    seen: dict[str, dict] = {}
    end = time.monotonic() + 120
    while len(seen) < len(windows) and any(w.running() for w in windows):
        assert time.monotonic() < end, f"holders seen: {seen}"
        for row in team.status()["directories"]:
            if row["directory"] in keys:
                for holder in row.get("holders", []):
                    seen.setdefault(holder["host"], holder)
    for window in windows:
        assert window.finish() == 0, "".join(window.err)
    return seen


@pytest.mark.timeout(300)
def test_status_names_the_member_of_a_remote_window_and_no_one_for_a_local_one(
        studio_factory: Callable[..., Studio]) -> None:
    studio = studio_factory(workstations=1)
    team = a_team(studio, members=("alice",))
    ws = studio.workstations[0]
    make_images(studio.share / "mixed", 300, size=SIZE)
    own = team.host.home / "photos"  # the daemon host's own folder, off the share
    make_images(own, 300, size=SIZE)
    remote = Window.open(studio, ws, ws.mount / "mixed", "1:1", per_batch=3)
    local = Window.open(studio, team.host, own, "16:9", per_batch=3)
    seen = watch_holders(team, [remote, local], {f"{SHARE}:mixed/", f"{own}/"})
    assert set(seen) == {ws.hostname, team.host.hostname}, seen
    assert seen[ws.hostname]["user"] == "alice"
    assert seen[team.host.hostname]["user"] is None
    assert seen[ws.hostname]["pid"] == remote.pid
    assert seen[team.host.hostname]["pid"] == local.pid
    assert len(remote.acked()) == len(local.acked()) == 300


@pytest.mark.timeout(300)
def test_a_local_window_on_the_daemon_host_shares_a_directory_with_a_workstation(
        studio_factory: Callable[..., Studio]) -> None:
    studio = studio_factory(workstations=1)
    team = a_team(studio, members=("alice",))
    ws = studio.workstations[0]
    make_images(studio.share / "mixed", 300, size=SIZE)
    remote = Window.open(studio, ws, ws.mount / "mixed", "1:1", per_batch=3)
    local = Window.open(studio, team.host, team.host.mount / "mixed", "16:9", per_batch=3)
    seen = watch_holders(team, [remote, local], {f"{SHARE}:mixed/"})
    assert seen[team.host.hostname]["user"] is None
    assert seen[ws.hostname]["user"] == "alice"
    assert remote.acked().isdisjoint(local.acked())
    assert len(remote.acked() | local.acked()) == 300


@pytest.mark.timeout(300)
def test_a_share_mounted_at_the_wrong_place_is_refused_naming_both_paths(
        studio_factory: Callable[..., Studio]) -> None:
    studio = studio_factory(workstations=2)
    team = a_team(studio, members=("alice", "bob"))
    right, wrong = studio.workstations
    make_images(studio.share / "job", 40, size=SIZE)
    done = studio.run(right, window_argv(right.mount / "job"))
    assert done.returncode == 0, done.stderr
    # bob says the share is a folder of his own that holds other images under the same name
    elsewhere = wrong.root / "not-the-nas"
    make_images(elsewhere / "job", 40, size=SIZE, prefix="other")
    team.must(wrong, "team", "share", SHARE, str(elsewhere))
    before = sorted(p.name for p in team.progress_dir.iterdir())
    refused = studio.run(wrong, window_argv(elsewhere / "job", "16:9"))
    assert refused.returncode != 0, refused.stdout
    line = one_line(refused.stderr)
    assert str(elsewhere / "job") in line and str(team.host.mount / "job") in line, line
    assert sorted(p.name for p in team.progress_dir.iterdir()) == before
    assert not (elsewhere / "job_cropped").exists()
    assert team.completed(f"{SHARE}:job/") == 40
    print(f"\nmismatch: {line}")
