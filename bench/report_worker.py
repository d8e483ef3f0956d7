"""One client process of figure 3: claim one image, report it `kept`, again, for a
fixed time from a shared start; no file work (the daemon does not check outputs).

Run as `python -m bench.report_worker ENDPOINT DIRECTORY OUTPUT SECONDS`: it
connects and opens the directory, prints "ready", waits for a line on stdin
(the start shot, sent to all workers at once), runs, and prints one JSON line:
reports done, seconds taken, errors, median claim+report time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench.stats import median
from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_protocol import messages as m


def run(endpoint: str, directory: Path, output: Path, seconds: float) -> dict[str, float]:
    session = Session(endpoint, program="bench-worker", autostart=False, heartbeat=False)
    try:
        key = session.open(directory, output_dir=output).summary.directory
        print("ready", flush=True)
        sys.stdin.readline()
        began = time.perf_counter()
        end = began + seconds
        done = errors = 0
        pairs: list[float] = []
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            items = session.claim(key, 1).items
            if not items:
                break
            item = items[0]
            try:
                session.report(m.Report(directory=key, file=item.file, outcome="kept",
                                        dest=str(output / item.file), token=item.token))
                done += 1
            except DaemonError:
                errors += 1
            pairs.append(time.perf_counter() - t0)
        took = time.perf_counter() - began
    finally:
        session.close()
    return {"reports": done, "seconds": took, "errors": errors,
            "pair_median": median(pairs) if pairs else 0.0}


def main() -> None:
    endpoint, directory, output, seconds = sys.argv[1:5]
    result = run(endpoint, Path(directory), Path(output), float(seconds))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
