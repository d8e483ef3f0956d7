"""`cropd`: run the progress daemon in the foreground.

A second cropd on the same endpoint exits 0, printing the running one's pid.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from pathlib import Path

from crop_progress import __version__
from crop_progress.paths import daemon_log_path, default_endpoint, lock_path, progress_dir
from crop_progress.worktime import BREAK_THRESHOLD
from cropd.config import LEASE_TTL, Config
from cropd.lock import AlreadyRunning, InstanceLock
from cropd.server import Server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cropd", description="crop-progress daemon: owns the progress files of every "
        "directory and serves the crop tools (runs in the foreground).")
    parser.add_argument("--endpoint", help="ZeroMQ endpoint (default: $CROPD_ENDPOINT or "
                        "ipc://$XDG_RUNTIME_DIR/crop-progress/cropd.sock)")
    parser.add_argument("--progress-dir", type=Path,
                        help="progress files folder (default: $CROP_PROGRESS_DIR or "
                        "the user data dir)")
    parser.add_argument("--idle-exit", type=float, metavar="SECONDS",
                        help="exit after this long with no clients and no claims")
    parser.add_argument("--break-threshold", type=float, default=BREAK_THRESHOLD,
                        metavar="SECONDS", help="longer gaps between file operations are "
                        "breaks, not work (default: %(default)s)")
    parser.add_argument("--lease-ttl", type=float, default=LEASE_TTL, metavar="SECONDS",
                        help="how long a claim lives without a heartbeat (default: "
                        "%(default)s)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--version", action="version", version=f"cropd {__version__}")
    return parser.parse_args(argv)


def setup_logging(log_file: Path, level: str) -> None:
    root = logging.getLogger("cropd")
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s cropd[%(process)d] %(levelname)s %(message)s")
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=5 << 20,
                                                       backupCount=3)
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError as exc:
        root.warning("cannot write the log file %s: %s", log_file, exc)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    endpoint = args.endpoint or default_endpoint()
    config = Config(endpoint=endpoint, progress_dir=progress_dir(args.progress_dir),
                    lease_ttl=args.lease_ttl, break_threshold=args.break_threshold,
                    idle_exit=args.idle_exit, log_file=daemon_log_path(endpoint))
    lock = InstanceLock(lock_path(endpoint))
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"cropd: already running (pid {exc.pid or '?'}) on {endpoint}")
        sys.exit(0)
    except OSError as exc:
        print(f"cropd: cannot take the lock {lock.path}: {exc.strerror or exc}",
              file=sys.stderr)
        sys.exit(1)
    assert config.log_file is not None
    setup_logging(config.log_file, args.log_level)
    server = Server(config)
    try:
        server.bind()
    except Exception as exc:  # zmq errors: address in use by a foreign process, bad endpoint
        logging.getLogger("cropd").error("cannot bind %s: %s", endpoint, exc)
        lock.release()
        sys.exit(1)
    server.install_signal_handlers()
    try:
        server.serve()
    finally:
        lock.release()
    sys.exit(0)


if __name__ == "__main__":
    main()
