"""Several clients on one directory, clients killed, the daemon killed: every image
done exactly once, no acknowledged report lost."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_images
from procs import ACKED, kill_daemon_at_random, multicrop, outcomes, record, stop_daemon

from crop_protocol.messages import ClaimedImage


@pytest.mark.timeout(180)
def test_four_processes_share_200_images(tmp_path: Path, progress_dir: Path,
                                         endpoint: str) -> None:
    work = tmp_path / "batch"
    make_images(work, 200, size=(40, 30))
    try:
        procs = [multicrop(str(work), "--auto", "center", "--aspect", "1:1") for _ in range(4)]
        results = [p.communicate(timeout=150) for p in procs]
    finally:
        stop_daemon(endpoint)
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    acked = [name for out, _ in results for name in ACKED.findall(out)]
    assert len(acked) == 200 and len(set(acked)) == 200
    done = outcomes(progress_dir, work)
    assert set(done) == {p.name for p in work.glob("*.png")}
    assert set(done.values()) == {1}
    assert len(list((tmp_path / "batch_cropped").glob("*.png"))) == 200
    data = record(progress_dir, "batch")
    assert data["completed_count"] == 200 == len(set(data["completed_files"]))
    # one daemon served all four: every session_start came from the same cropd
    assert sum(1 for out, _ in results if "Starting crop session" in out) == 1


CLAIM_AND_HOLD = """
import sys, time
from crop_client.session import Session
s = Session(program="holder")
opened = s.open(sys.argv[1])
claimed = s.claim(opened.summary.directory, 3)
print(" ".join(i.file for i in claimed.items), flush=True)
time.sleep(600)
"""


@pytest.mark.timeout(120)
def test_killed_client_gives_its_images_back(tmp_path: Path, progress_dir: Path,
                                             endpoint: str) -> None:
    from crop_client.session import Session
    from crop_client.work import Decision, Target, carry_out

    work = tmp_path / "killed"
    make_images(work, 6)
    holder = subprocess.Popen([sys.executable, "-c", CLAIM_AND_HOLD, str(work)],
                              stdout=subprocess.PIPE, text=True)
    try:
        held = holder.stdout.readline().split()  # type: ignore[union-attr]
        assert len(held) == 3
        with Session(program="other") as session:
            target = Target.from_opened(session.open(work))
            first = [i.file for i in session.claim(target.directory, 6).items]
            assert not set(first) & set(held)
            holder.kill()
            holder.wait(10)
            killed_at = time.monotonic()
            regained: list[str] = []
            while time.monotonic() - killed_at < 10 and len(regained) < 3:
                regained += [i.file for i in session.claim(target.directory, 3).items]
                time.sleep(0.05)
            returned_after = time.monotonic() - killed_at
            print(f"claims of a SIGKILLed client returned after {returned_after:.2f} s")
            assert sorted(regained) == sorted(held)
            for item in session.claim(target.directory, 6).items:
                raise AssertionError(f"nothing should be left, got {item.file}")
            # finish everything this window holds
            for name in first + regained:
                item = ClaimedImage(file=name, path=str(work / name), position=0,
                                    companions=[Path(name).with_suffix(".yaml").name])
                carry_out(session, target, item, Decision("keep"))
    finally:
        if holder.poll() is None:
            holder.kill()
        stop_daemon(endpoint)
    assert set(outcomes(progress_dir, work).values()) == {1}
    assert record(progress_dir, "killed")["completed_count"] == 6


@pytest.mark.timeout(300)
def test_cropd_killed_20_times_under_three_clients(tmp_path: Path, progress_dir: Path,
                                                   endpoint: str) -> None:
    work = tmp_path / "crashy"
    make_images(work, 150, size=(400, 300))
    rng = random.Random(4242)
    clients = [multicrop(str(work), "--auto", "center", "--aspect", "4:3", "--per-batch", "2")
               for _ in range(3)]
    try:
        kills = kill_daemon_at_random(endpoint, 20, clients, rng)
        results = [c.communicate(timeout=200) for c in clients]
        # after the storm: anything left is finished by one more run
        final = subprocess.run([sys.executable, "-m", "crop_client.multicrop", str(work),
                                "--auto", "center", "--aspect", "4:3"],
                               capture_output=True, text=True, timeout=120)
    finally:
        stop_daemon(endpoint)
    assert final.returncode == 0, final.stderr
    print(f"killed cropd {kills} times")
    for client, (_out, err) in zip(clients, results, strict=True):
        assert client.returncode == 0, err
        assert "Traceback" not in err
    assert kills >= 5
    acked = {name for out, _ in results for name in ACKED.findall(out)}
    data = record(progress_dir, "crashy")
    assert acked <= set(data["completed_files"]), "an acknowledged report was lost"
    assert data["completed_count"] == 150
    done = outcomes(progress_dir, work)
    assert set(done.values()) == {1}, {k: v for k, v in done.items() if v != 1}
    assert len(done) == 150
