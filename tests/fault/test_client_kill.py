"""Clients SIGKILLed while holding claims: no image stays claimed once they are gone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_images
from procs import stop_daemon

from crop_client.session import Session
from crop_client.work import Target

HOLD = """
import sys, time
from crop_client.session import Session
s = Session(program="holder")
opened = s.open(sys.argv[1])
print(" ".join(i.file for i in s.claim(opened.summary.directory, 3).items), flush=True)
time.sleep(600)
"""


@pytest.mark.timeout(120)
def test_claims_of_killed_clients_return(tmp_path: Path, endpoint: str) -> None:
    work = tmp_path / "holders"
    make_images(work, 12)
    holders = [subprocess.Popen([sys.executable, "-c", HOLD, str(work)],
                                stdout=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        held = [set(h.stdout.readline().split()) for h in holders]  # type: ignore[union-attr]
        assert all(len(h) == 3 for h in held)
        assert len(set.union(*held)) == 9
        with Session(program="watcher") as session:
            target = Target.from_opened(session.open(work))
            mine = {i.file for i in session.claim(target.directory, 12).items}
            assert len(mine) == 3
            for holder in holders:
                holder.kill()
            killed = time.monotonic()
            back: set[str] = set()
            while len(back) < 9 and time.monotonic() - killed < 15:
                back |= {i.file for i in session.claim(target.directory, 9).items}
                time.sleep(0.02)
            waited = time.monotonic() - killed
            assert back == set.union(*held)
            status = session.status()
            claims = sum(d.active_claims for d in status.directories)
            assert claims == 12  # all of them are this session's now
    finally:
        for holder in holders:
            if holder.poll() is None:
                holder.kill()
        stop_daemon(endpoint)
    print(f"\nclaims of 3 SIGKILLed clients back in the queue after {waited:.2f} s")
