"""How much each figure measures: the full run and the `--quick` one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    quick: bool
    claim_calls: int            # round trips timed, for the claim and for the echo each
    report_calls: int           # durable reports timed at each of the two fills
    fills: tuple[int, ...]      # completed images already in the progress file
    clients: int                # concurrent client processes
    client_seconds: float       # how long each phase of the concurrent run lasts
    client_dir_images: int      # images in the folder the concurrent clients share
    memory_steps: tuple[int, ...]  # directories open when RSS is read
    memory_dir_images: int
    headless_images: int
    headless_size: int          # pixels on each side
    headless_extras: bool       # the imageops split, the 1:1 run and 2 processes
    scan_images: int
    scan_repeats: int


FULL = Sizes(quick=False, claim_calls=2000, report_calls=200,
             fills=(100, 1_000, 10_000, 100_000), clients=4,
             client_seconds=10.0, client_dir_images=10_000, memory_steps=(1, 10, 25, 50),
             memory_dir_images=10_000, headless_images=40, headless_size=3000,
             headless_extras=True, scan_images=10_000, scan_repeats=20)

QUICK = Sizes(quick=True, claim_calls=300, report_calls=40, fills=(100, 100_000), clients=4,
              client_seconds=2.0, client_dir_images=3000, memory_steps=(1, 10),
              memory_dir_images=10_000, headless_images=8, headless_size=1500,
              headless_extras=False, scan_images=10_000, scan_repeats=5)
