"""`cropd`: run the progress daemon in the foreground (click, in the house style of
`crop_progress.commandline`).

A second cropd on the same endpoint exits 0, printing the running one's pid.
Exit status: 0 served and stopped (or another cropd already serves); 1 a usage
error; 2 it cannot be started (the lock cannot be taken, the endpoint cannot be
bound).

Logging goes to stderr and to a rotating file beside the endpoint's other files,
except under a service manager that keeps stderr itself (systemd's journal,
launchd's StandardErrorPath; see `service_manager`): there, stderr alone, so
every line is logged once.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from crop_progress import paths
from crop_progress.commandline import EXIT_DAEMON, Command, examples, fail, version_option
from crop_progress.worktime import BREAK_THRESHOLD
from cropd.config import LEASE_TTL, Config

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
Seconds = click.FloatRange(min=0, min_open=True)


LAUNCHD_LABEL = "io.github.crop-progress.cropd"


def service_manager(environ: Mapping[str, str] | None = None, stderr_fd: int = 2) -> str | None:
    """"systemd" or "launchd" when one of them started us and keeps our stderr; else None.

    systemd: JOURNAL_STREAM names the journal's `device:inode`, which stderr must be
    (the variable leaks into terminals started from a service), or INVOCATION_ID with
    stderr a pipe or socket. launchd: our agent's label, with stderr redirected to a
    file (StandardErrorPath). A terminal, a spawn log or /dev/null is none of these.
    """
    env = os.environ if environ is None else environ
    try:
        st = os.fstat(stderr_fd)
    except OSError:
        return None
    if env.get("JOURNAL_STREAM") == f"{st.st_dev}:{st.st_ino}":
        return "systemd"
    if env.get("INVOCATION_ID") and (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
        return "systemd"
    if env.get("XPC_SERVICE_NAME") == LAUNCHD_LABEL and stat.S_ISREG(st.st_mode):
        return "launchd"
    return None


def setup_logging(log_file: Path | None, level: str, manager: str | None = None) -> None:
    """stderr, and `log_file` unless a service manager already keeps stderr."""
    root = logging.getLogger("cropd")
    root.setLevel(level)
    stamp = "" if manager == "systemd" else "%(asctime)s "  # the journal stamps each line
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter(stamp + "cropd[%(process)d] %(levelname)s %(message)s"))
    root.addHandler(stderr)
    if manager is not None or log_file is None:
        return
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=5 << 20,
                                                       backupCount=3)
        handler.setFormatter(logging.Formatter(
            "%(asctime)s cropd[%(process)d] %(levelname)s %(message)s"))
        root.addHandler(handler)
    except OSError as exc:
        root.warning("cannot write the log file %s: %s", log_file, exc)


@click.command("cropd", cls=Command, epilog=examples(
    "cropd", "cropd --idle-exit 600",
    "CROPD_ENDPOINT=ipc:///tmp/test.sock cropd --log-level DEBUG",
    "cropd --listen tcp://192.168.1.10:5555"))
@click.option("--endpoint", metavar="EP", default=None,
              help="ZeroMQ endpoint (default: $CROPD_ENDPOINT or "
                   "ipc://$XDG_RUNTIME_DIR/crop-progress/cropd.sock)")
@click.option("--listen", metavar="tcp://HOST:PORT", default=None,
              help="also serve team members on this tcp endpoint, CURVE-encrypted and "
                   "authenticated (default: the one `cropctl team init --listen` recorded, "
                   "if any; a port of 0 takes a free one)")
@click.option("--progress-dir", metavar="PATH", type=click.Path(path_type=Path), default=None,
              help="progress files folder (default: $CROP_PROGRESS_DIR or the user data dir)")
@click.option("--idle-exit", metavar="SECONDS", type=Seconds, default=None,
              help="exit after this long with no clients and no claims (default: never)")
@click.option("--break-threshold", metavar="SECONDS", type=Seconds, default=BREAK_THRESHOLD,
              show_default=True,
              help="longer gaps between file operations are breaks, not work")
@click.option("--lease-ttl", metavar="SECONDS", type=Seconds, default=LEASE_TTL,
              show_default=True, help="how long a claim lives without a heartbeat")
@click.option("--log-level", metavar="LEVEL", default="INFO", show_default=True,
              type=click.Choice(LOG_LEVELS, case_sensitive=False),
              help="DEBUG, INFO, WARNING or ERROR")
@version_option("cropd")
def run(endpoint: str | None, listen: str | None, progress_dir: Path | None,
        idle_exit: float | None, break_threshold: float, lease_ttl: float,
        log_level: str) -> int:
    """The crop-progress daemon: owns the progress files of every directory and serves
    the crop tools. Runs in the foreground; clients start one themselves when none runs.
    """
    from crop_progress.team_files import TeamError
    from cropd.lock import AlreadyRunning, InstanceLock
    from cropd.server import Server
    from cropd.team import TeamUnavailable, listen_address

    where = endpoint or paths.default_endpoint()
    progress = paths.progress_dir(progress_dir)
    try:
        team_endpoint = listen_address(progress, listen)
    except (TeamUnavailable, TeamError) as exc:
        fail(str(exc))
    config = Config(endpoint=where, progress_dir=progress, listen=team_endpoint,
                    lease_ttl=lease_ttl, break_threshold=break_threshold,
                    idle_exit=idle_exit, log_file=paths.daemon_log_path(where))
    lock = InstanceLock(paths.lock_path(where))
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        click.echo(f"cropd: already running (pid {exc.pid or '?'}) on {where}")
        return 0
    except OSError as exc:
        fail(f"cannot take the lock {lock.path}: {exc.strerror or exc}", EXIT_DAEMON)
    setup_logging(config.log_file, log_level.upper(), service_manager())
    server = Server(config)
    try:
        server.bind()
    except Exception as exc:  # zmq errors: address in use by a foreign process, bad endpoint
        logging.getLogger("cropd").error("cannot bind %s: %s", where, exc)
        lock.release()
        return EXIT_DAEMON
    server.install_signal_handlers()
    try:
        server.serve()
    finally:
        lock.release()
    return 0


def main(argv: list[str] | None = None) -> None:
    run.main(args=argv, prog_name="cropd")


if __name__ == "__main__":
    main()
