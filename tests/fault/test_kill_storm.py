"""cropd SIGKILLed at random moments while four clients work a directory.

After each kill every progress file parses; at the end of each round every
report a client saw acknowledged is in the file, no image is done twice
(journal and output agree) and the clients finished the directory. 20 kills in
CI, 200 with --long.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from conftest import make_images
from procs import ACKED, kill_daemon_at_random, multicrop, outcomes, record, stop_daemon

from crop_progress import model

IMAGES_PER_ROUND = 120


@pytest.mark.timeout(1800)
def test_kill_storm(tmp_path: Path, progress_dir: Path, endpoint: str, long_run: bool) -> None:
    wanted = 200 if long_run else 20
    rng = random.Random(20261128)
    kills = rounds = parsed = 0
    started = time.monotonic()
    try:
        while kills < wanted:
            name = f"storm{rounds:03d}"
            work = tmp_path / name
            make_images(work, IMAGES_PER_ROUND, size=(320, 240))
            clients = [multicrop(str(work), "--auto", "center", "--aspect", "1:1",
                                 "--per-batch", str(1 + i % 3)) for i in range(4)]
            progress_file = progress_dir / f"{name}_progress.json"

            def file_parses(progress_file: Path = progress_file) -> None:
                nonlocal parsed
                if progress_file.exists():
                    model.decode(progress_file.read_bytes())  # raises if torn or damaged
                    parsed += 1

            kills += kill_daemon_at_random(endpoint, wanted - kills, clients, rng, file_parses)
            results = [c.communicate(timeout=300) for c in clients]
            for client, (_out, err) in zip(clients, results, strict=True):
                assert client.returncode == 0, err
                assert "Traceback" not in err, err
            acked = {n for out, _ in results for n in ACKED.findall(out)}
            data = record(progress_dir, name)
            assert acked <= set(data["completed_files"]), "an acknowledged report was lost"
            assert data["completed_count"] == IMAGES_PER_ROUND, "the clients did not finish"
            done = outcomes(progress_dir, work)
            assert len(done) == IMAGES_PER_ROUND
            assert set(done.values()) == {1}, {k: v for k, v in done.items() if v != 1}
            outputs = {p.name for p in (tmp_path / f"{name}_cropped").glob("*.png")}
            assert outputs == set(done)
            rounds += 1
    finally:
        stop_daemon(endpoint)
    print(f"\nkill storm: {kills} SIGKILLs of cropd over {rounds} round(s) of "
          f"{IMAGES_PER_ROUND} images x 4 clients in {time.monotonic() - started:.1f} s; "
          f"progress file parsed after {parsed} kills")
