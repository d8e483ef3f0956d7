"""The studio harness itself (netns.py): workstations reach the daemon host from their
own address, a partition cuts one off and a heal brings it back, the share is
mounted at each host's own path and nowhere else, and nothing (namespace,
link, mount, process) is left behind, also when the test inside fails or an
earlier run was killed before its cleanup."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from team import netns
from team.netns import DAEMON_ADDRESS, Studio, wait_until

# Inside the daemon host: accept one connection on PORT and print the peer's address.
ACCEPT_ONE = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
print("listening", flush=True)
conn, peer = s.accept()
print(peer[0], conn.recv(100).decode(), flush=True)
"""
SEND_HOSTNAME = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as s:
    s.sendall(socket.gethostname().encode())
"""


def mounted_under(root: Path) -> list[str]:
    """Mount points under `root` in this (the root) mount namespace."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == str(root) or point.startswith(str(root) + "/"):
            points.append(point)
    return points


def test_each_workstation_reaches_the_daemon_host_from_its_own_address(studio: Studio) -> None:
    for ws in studio.workstations:
        server = studio.popen(studio.daemon, [sys.executable, "-c", ACCEPT_ONE,
                                              DAEMON_ADDRESS, "7411"])
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "listening"
        sent = studio.run(ws, [sys.executable, "-c", SEND_HOSTNAME, DAEMON_ADDRESS, "7411"])
        assert sent.returncode == 0, sent.stderr
        out, err = server.communicate(timeout=30)
        assert out.split() == [ws.address, ws.hostname], err


def test_a_partition_cuts_one_workstation_off_and_a_heal_brings_it_back(studio: Studio) -> None:
    cut, other = studio.workstations[0], studio.workstations[1]
    assert studio.reachable(cut) and studio.reachable(other)
    assert not studio.reachable(cut, refused_is_reachable=False)  # nothing listens on 9
    studio.partition(cut)
    assert not studio.reachable(cut)  # a timeout: the cable is cut, nothing refuses
    assert studio.reachable(other)
    studio.heal(cut)
    studio.wait_reachable(cut)
    assert studio.reachable(other)


def test_the_share_is_mounted_at_each_hosts_own_path_and_nowhere_else(studio: Studio) -> None:
    ws0, ws1 = studio.workstations[:2]
    assert len({h.mount for h in (studio.daemon, *studio.workstations)}) == 4
    wrote = studio.run(ws0, ["sh", "-c", f'echo from-ws0 > "{ws0.mount}/note.txt"'])
    assert wrote.returncode == 0, wrote.stderr
    assert (studio.share / "note.txt").read_text() == "from-ws0\n"
    for host in (ws1, studio.daemon):
        seen = studio.run(host, ["cat", str(host.mount / "note.txt")])
        assert seen.stdout == "from-ws0\n", seen.stderr
        # ws0's mount path is an empty folder on any other host
        other = studio.run(host, ["ls", "-A", str(ws0.mount)])
        assert other.returncode == 0 and other.stdout == "", other.stdout
    assert list(ws0.mount.iterdir()) == []  # and in the test's own namespace
    assert mounted_under(studio.root) == []


def test_a_host_has_its_own_home_and_no_endpoint(studio: Studio) -> None:
    ws = studio.workstations[0]
    shown = studio.run(ws, ["sh", "-c", 'echo "$HOME|$XDG_RUNTIME_DIR|${CROPD_ENDPOINT-unset}|'
                                        '${CROP_PROGRESS_DIR-unset}|$(hostname)"'])
    assert shown.stdout.strip() == f"{ws.home}|{ws.runtime}|unset|unset|{ws.hostname}"
    assert "CROPD_ENDPOINT" in os.environ  # the test's own environment has one (conftest)


def test_close_leaves_no_namespace_link_mount_or_process(
        studio_factory: Callable[..., Studio]) -> None:
    studio = studio_factory(workstations=2)
    names = [h.netns for h in (studio.daemon, *studio.workstations)]
    assert set(names) <= set(netns.namespaces())
    sleeper = studio.popen(studio.workstations[0], ["sleep", "600"])
    wait_until(lambda: sleeper.pid in netns.pids_in(studio.workstations[0].netns),
               "the sleeper to run inside ws0")
    # a process the harness did not start itself (a daemon a client spawned, say)
    spawned = studio.run(studio.daemon, ["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"])
    orphan = int(spawned.stdout)
    assert psutil.pid_exists(orphan)
    with pytest.raises(RuntimeError, match="the test failed"), studio:
        raise RuntimeError("the test failed")
    assert sleeper.poll() is not None
    wait_until(lambda: not psutil.pid_exists(orphan) or
               psutil.Process(orphan).status() == psutil.STATUS_ZOMBIE, "the orphan to die")
    assert not set(names) & set(netns.namespaces())
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert netns.BRIDGE not in links
    assert not any(f" {ws.name}@" in links for ws in studio.workstations)
    assert mounted_under(studio.root) == []
    studio.close()  # a second close is harmless


def test_leftovers_of_a_killed_run_are_swept(tmp_path: Path, studio: Studio) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    wait_until(lambda: not psutil.pid_exists(gone.pid), "the pid to be free")
    leftover = f"{netns.PREFIX}{gone.pid}x0-ws0"
    netns.ip("netns", "add", leftover)
    try:
        inside = subprocess.Popen(["ip", "netns", "exec", leftover, "sleep", "600"])
        wait_until(lambda: inside.pid in netns.pids_in(leftover), "a process in the leftover")
        swept = netns.sweep_leftovers()
        assert leftover in swept
        assert inside.wait(timeout=10) == -9
        assert leftover not in netns.namespaces()
        # the live studio of this very run is not a leftover
        assert studio.daemon.netns in netns.namespaces()
        assert studio.reachable(studio.workstations[0])
    finally:
        if leftover in netns.namespaces():
            netns.remove_namespace(leftover)


def test_without_root_the_harness_says_why_instead_of_failing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert netns.unavailable() == "team tests need root (network namespaces, bind mounts)"
