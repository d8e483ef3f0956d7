"""cropd logs once: to stderr and its own file, or to stderr alone when a service manager
keeps stderr (systemd's journal, launchd's log file)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cropd.cli import LAUNCHD_LABEL, service_manager, setup_logging

pytestmark = pytest.mark.timeout(60)


def identity(fd: int) -> str:
    st = os.fstat(fd)
    return f"{st.st_dev}:{st.st_ino}"


def test_the_journal_is_recognised_by_its_device_and_inode() -> None:
    left, right = socket.socketpair()
    with left, right:
        fd = left.fileno()
        assert service_manager({"JOURNAL_STREAM": identity(fd)}, fd) == "systemd"
        assert service_manager({"JOURNAL_STREAM": "1:2"}, fd) is None  # leaked, not ours
        assert service_manager({"INVOCATION_ID": "abc"}, fd) == "systemd"  # a socket
        assert service_manager({}, fd) is None


def test_terminals_spawn_logs_and_devnull_are_not_service_managers(tmp_path: Path) -> None:
    with (tmp_path / "spawn.log").open("w") as log, open(os.devnull, "w") as null:
        for fd in (log.fileno(), null.fileno()):
            assert service_manager({"INVOCATION_ID": "abc"}, fd) is None
            assert service_manager({"XPC_SERVICE_NAME": "application.x"}, fd) is None
        assert service_manager({"XPC_SERVICE_NAME": LAUNCHD_LABEL}, log.fileno()) == "launchd"
        assert service_manager({"XPC_SERVICE_NAME": LAUNCHD_LABEL}, null.fileno()) is None
    master, slave = os.openpty()
    try:
        assert service_manager({"INVOCATION_ID": "abc", "XPC_SERVICE_NAME": "0"}, slave) is None
    finally:
        os.close(master)
        os.close(slave)


@pytest.fixture
def cropd_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("cropd")
    before = list(logger.handlers)
    yield logger
    for handler in logger.handlers[len(before):]:
        handler.close()
    logger.handlers = before


@pytest.mark.parametrize("manager", [None, "systemd", "launchd"])
def test_setup_logging_writes_its_file_only_without_a_manager(tmp_path: Path, manager: str | None,
                                                             cropd_logger: logging.Logger) -> None:
    log_file = tmp_path / "log" / "cropd.log"
    setup_logging(log_file, "INFO", manager)
    cropd_logger.info("hello %s", manager)
    for handler in cropd_logger.handlers:
        handler.flush()
    assert log_file.exists() is (manager is None)
    if manager is None:
        assert f"hello {manager}" in log_file.read_text()


def test_cropd_under_the_journal_logs_once(endpoint: str) -> None:
    """A real cropd whose stderr is the 'journal' (a socket named by JOURNAL_STREAM):
    the lines arrive there, without a time stamp, and no log file is written."""
    journal, ours = socket.socketpair()
    env = {**os.environ, "JOURNAL_STREAM": identity(ours.fileno())}
    proc = subprocess.Popen([sys.executable, "-m", "cropd", "--idle-exit", "0.5"], env=env,
                            stderr=ours, stdout=subprocess.DEVNULL)
    ours.close()
    try:
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    journal.settimeout(5)
    text = b""
    while chunk := journal.recv(65536):
        text += chunk
    journal.close()
    lines = text.decode().splitlines()
    assert lines and all(line.startswith("cropd[") for line in lines), lines
    from crop_progress.paths import daemon_log_path

    assert not daemon_log_path(endpoint).exists()
