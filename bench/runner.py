"""Run every figure in order, each in its own part of one temporary root, and print
the table. A figure that fails prints its error in its row; nothing asserts."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import env
from bench.config import FULL, QUICK, Sizes
from bench.table import Row, render_text

FIGURES: dict[str, tuple[str, str]] = {
    # key: (module, title for an error row)
    "1": ("roundtrip", "claim round trip"),
    "2": ("durable", "durable report"),
    "3": ("many_clients", "reports/s, concurrent clients"),
    "4": ("external:cropctl", "cropctl status, 50 directories"),
    "5": ("memory", "cropd RSS"),
    "6": ("external:gui", "first/next batch on screen"),
    "7": ("headless", "headless throughput"),
    "8": ("scanning", "scan + hash"),
    "9": ("web", "dashboard: overview, live feed, RSS"),
    "10": ("png_levels", "PNG level table"),
    "11": ("suggest_bench", "suggestion quality and time"),
    "12": ("gui_sustained", "sustained pace, save backlog"),
    "13": ("team", "claim round trip, CURVE tcp vs ipc"),
}


def _figure_order(row: Row) -> tuple[int, str]:
    digits = len(row.key) - len(row.key.lstrip("0123456789"))
    return (int(row.key[:digits] or 0), row.key[digits:])


def _function(module: str) -> Callable[[Path, Sizes], list[Row]]:
    import importlib

    if module.startswith("external:"):
        external = importlib.import_module("bench.external")
        rows = external.cropctl_rows if module.endswith("cropctl") else external.gui_rows
        return lambda root, sizes: rows(root)
    return importlib.import_module(f"bench.{module}").measure


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="smaller figures, under a minute on 2 cores")
    parser.add_argument("--write-results", action="store_true",
                        help="write bench/RESULTS.md from this run (meant for a full run)")
    parser.add_argument("--only", default="", metavar="1,2,...",
                        help="run only these figures (numbers 1-13)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary root (its path is printed)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = [k for k in FIGURES if not args.only or k in args.only.split(",")]
    skipped: list[Row] = []
    if args.quick and not args.only and "12" in chosen:
        chosen.remove("12")   # two minutes by definition
        skipped.append(Row("12", "sustained pace, save backlog", ours="skipped (--quick)",
                           notes=["`python -m bench --only 12` runs it (about 3 minutes)"]))
    if args.quick and not args.only and "6" in chosen:
        # gui_bench alone takes ~37 s (nine 4096² PNGs, two window launches): with it,
        # --quick cannot stay under a minute on 2 cores. `--quick --only 6` runs it.
        chosen.remove("6")
        skipped += [Row("6", "first/next batch on screen", ours="skipped (--quick)",
                       notes=["gui_bench alone takes ~37 s; `python -m bench --quick --only 6` "
                              "runs it"])]
    root = env.make_root()
    env.isolate(root)  # before any product code reads its paths
    from bench import machine

    began = time.perf_counter()
    lines = machine.describe(root)
    print("crop-progress bench" + (" --quick" if args.quick else " (full run)"))
    for line in lines:
        print(f"  {line}")
    print(f"  temp root: {root}", flush=True)
    rows: list[Row] = []
    try:
        for key in chosen:
            module, title = FIGURES[key]
            start = time.perf_counter()
            print(f"… figure {key}: {title}", end="", flush=True)
            try:
                got = _function(module)(root, sizes)
            except Exception as exc:
                got = [Row(key, title, ours=f"error: {type(exc).__name__}: {exc}"[:90])]
                traceback.print_exc(file=sys.stderr)
            rows += got
            print(f" ({time.perf_counter() - start:.1f} s)", flush=True)
        # by figure number (2 before 10), stable: keeps each figure's own order
        rows = sorted(rows + skipped, key=_figure_order)
    finally:
        env.stop_all()
        if not args.keep:
            env.remove_root(root)
    seconds = time.perf_counter() - began
    table = render_text(rows)
    print()
    print(table)
    print(f"\ntotal {seconds:.1f} s; load average at the end {machine.load()}")
    if args.write_results:
        from bench import results

        command = "python -m bench" + (" --quick" if args.quick else "") + " --write-results"
        path = results.write(rows, lines, command, seconds, table)
        print(f"wrote {path}")
    return 0
