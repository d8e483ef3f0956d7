"""An isolated studio for the team-mode tests, built as root and torn down in `close()`.

One network namespace for the daemon host and one per workstation: a bridge in
the daemon host's namespace (address 10.77.0.1), one veth pair per workstation
(its end in the workstation is `eth0`, 10.77.0.11, .12, ...; its end on the
bridge is named after it), so fixed ports are safe: nothing else lives there.
Every command of a host runs as `ip netns exec NS unshare --uts sh -c ...`: its
own hostname (a lease's `host` then differs per workstation) and its own mount
namespace, where the shared folder (a temp dir, the "NAS") is bind-mounted at
the host's own path; outside, that path is an empty folder. Each host has its
own HOME/XDG tree under the studio's root and an environment without
$CROPD_ENDPOINT or $CROP_PROGRESS_DIR.

`partition(ws)` takes the workstation's port on the bridge down (its cable is
cut: packets are lost, nothing is refused); `heal(ws)` puts it back.

Namespaces are named `cropteam<pid>x<counter>-<host>`, so parallel runs never
clash, and `sweep_leftovers()` removes those of runs whose process is gone
(a run killed before its `finally`), with whatever still runs inside them.

The 10.77.0.0/24 addresses exist only inside the namespaces made here: the
test process itself (in the root namespace) must never connect to one; it
reaches the daemon host's files through the file system and its local clients
through `Host.run` like any other host.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PREFIX = "cropteam"
SUBNET = "10.77.0"
DAEMON_ADDRESS = f"{SUBNET}.1"
BRIDGE = "studio0"
NAME = re.compile(rf"^{PREFIX}(\d+)x(\d+)-")
# Variables of the person running the tests that a studio host must not inherit.
NOT_INHERITED = ("CROPD_ENDPOINT", "CROP_PROGRESS_DIR", "JOURNAL_STREAM", "INVOCATION_ID",
                 "XPC_SERVICE_NAME", "BASH_COMPLETION_USER_DIR", "SHELL", "DISPLAY",
                 "WAYLAND_DISPLAY")
# Inside the host: its hostname, then the share bind-mounted at the host's path.
ENTER = 'hostname "$1" && mount --bind "$2" "$3" && shift 3 && exec "$@"'
# Run inside a host: is ADDRESS:PORT reachable? A refusal is an answer (so no listener
# is needed) unless the 4th argument says a listener is wanted; a timeout or
# "unreachable" is not.
PROBE = """
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except ConnectionRefusedError:
    sys.exit(0 if sys.argv[4] == "refused-is-reachable" else 1)
except OSError:
    sys.exit(1)
"""

_counter = itertools.count()


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    found = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and found.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {found.stderr.strip() or found.returncode}")
    return found


def namespaces() -> list[str]:
    """Every named network namespace on this machine (`ip netns list`)."""
    listed = ip("netns", "list", check=False)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


def ours(name: str) -> bool:
    return NAME.match(name) is not None


def pids_in(netns: str) -> list[int]:
    listed = ip("netns", "pids", netns, check=False)
    return [int(word) for word in listed.stdout.split() if word.isdigit()]


def kill_all_in(netns: str, timeout: float = 10.0) -> None:
    """SIGKILL every process still inside one of our namespaces, and wait until none is
    left. (Never waits on them itself: a child of the caller stays the caller's to
    reap, with its exit status.)"""
    end = time.monotonic() + timeout
    while True:
        pids = pids_in(netns)  # a dead process is no longer listed, even unreaped
        if not pids:
            return
        if time.monotonic() > end:
            raise RuntimeError(f"processes {pids} still run in namespace {netns}")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def remove_namespace(netns: str) -> None:
    kill_all_in(netns)
    ip("netns", "del", netns, check=False)


def sweep_leftovers() -> list[str]:
    """Remove the namespaces of earlier runs of this harness whose process is gone."""
    swept = []
    for name in namespaces():
        found = NAME.match(name)
        if found and not psutil.pid_exists(int(found.group(1))):
            remove_namespace(name)
            swept.append(name)
    return swept


def unavailable() -> str | None:
    """Why a studio cannot be built here (None: it can): not root, a tool missing, or
    network namespaces, a hostname of one's own or bind mounts refused."""
    if os.geteuid() != 0:
        return "team tests need root (network namespaces, bind mounts)"
    for tool in ("ip", "unshare", "mount", "hostname", "sh"):
        if shutil.which(tool) is None:
            return f"team tests need `{tool}` (not found)"
    probe = f"{PREFIX}{os.getpid()}x{next(_counter)}-probe"
    try:
        made = ip("netns", "add", probe, check=False)
        if made.returncode != 0:
            return f"`ip netns add` is not allowed here: {made.stderr.strip()}"
        here = Path("/")  # bind / onto itself: needs no folder of ours
        tried = subprocess.run(["ip", "netns", "exec", probe, "unshare", "--uts", "sh", "-c",
                                ENTER, "sh", "probe", str(here), str(here), "true"],
                               capture_output=True, text=True, timeout=30)
        if tried.returncode != 0:
            return ("`ip netns exec`, `unshare --uts` or `mount --bind` is not allowed here: "
                    f"{tried.stderr.strip() or tried.returncode}")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"network namespaces cannot be used here: {exc}"
    finally:
        if probe in namespaces():
            remove_namespace(probe)
    return None


@dataclass
class Host:
    """The daemon host or a workstation: its namespace, hostname, address, HOME tree
    and the path where it mounts the share."""

    name: str
    netns: str
    address: str
    root: Path
    share: Path
    mount: Path
    port: str = ""  # its port on the bridge (workstations only)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def hostname(self) -> str:
        return f"{self.name}.studio"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def runtime(self) -> Path:
        return self.root / "run"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of this host's user: own HOME and XDG folders, no endpoint."""
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env["HOME"] = str(self.home)
        for name, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
                          ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
            env[name] = str(self.home / sub)
        env["XDG_RUNTIME_DIR"] = str(self.runtime)
        env.update(self.extra_env)
        env.update(extra)
        return env

    def argv(self, command: Sequence[str]) -> list[str]:
        """`command` as it runs on this host (its namespace, hostname and mount)."""
        return ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c", ENTER, "sh",
                self.hostname, str(self.share), str(self.mount), *command]


class Studio:
    """A daemon host and N workstations sharing one folder. Use as a context manager
    (or call `close()` in a `finally`): every process started here and every
    namespace made here is gone afterwards."""

    def __init__(self, root: Path, workstations: int = 3, share_name: str = "nas") -> None:
        sweep_leftovers()
        self.root = root
        self.share = root / share_name  # the real folder behind every mount
        self.share.mkdir(parents=True, exist_ok=True)
        stem = f"{PREFIX}{os.getpid()}x{next(_counter)}"
        self.processes: list[subprocess.Popen[str]] = []
        self.made: list[str] = []
        self.daemon = self._host("daemon", f"{stem}-daemon", DAEMON_ADDRESS)
        self.workstations = [self._host(f"ws{i}", f"{stem}-ws{i}", f"{SUBNET}.{11 + i}")
                             for i in range(workstations)]
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _host(self, name: str, netns: str, address: str) -> Host:
        root = self.root / name
        # A different path on each host, so only the share map can tell them the same.
        host = Host(name=name, netns=netns, address=address, root=root, share=self.share,
                    mount=root / "mnt" / f"{name}-projects")
        for folder in (host.home, host.runtime, host.mount):
            folder.mkdir(parents=True, exist_ok=True)
        host.runtime.chmod(0o700)
        return host

    def _build(self) -> None:
        d = self.daemon.netns
        for host in (self.daemon, *self.workstations):
            ip("netns", "add", host.netns)
            self.made.append(host.netns)
            ip("-n", host.netns, "link", "set", "lo", "up")
        ip("-n", d, "link", "add", BRIDGE, "type", "bridge")
        ip("-n", d, "addr", "add", f"{DAEMON_ADDRESS}/24", "dev", BRIDGE)
        ip("-n", d, "link", "set", BRIDGE, "up")
        for ws in self.workstations:
            ws.port = ws.name
            ip("-n", d, "link", "add", ws.port, "type", "veth", "peer", "name", "eth0",
               "netns", ws.netns)
            ip("-n", d, "link", "set", ws.port, "master", BRIDGE)
            ip("-n", d, "link", "set", ws.port, "up")
            ip("-n", ws.netns, "addr", "add", f"{ws.address}/24", "dev", "eth0")
            ip("-n", ws.netns, "link", "set", "eth0", "up")
        for ws in self.workstations:
            self.wait_reachable(ws)

    # -- processes -------------------------------------------------------------------

    def popen(self, host: Host, command: Sequence[str], env: dict[str, str] | None = None,
              **kwargs: object) -> subprocess.Popen[str]:
        """Start `command` on `host` (its pid is the command's own: every step execs)."""
        proc = subprocess.Popen(host.argv(command), env=env or host.env(),  # type: ignore[call-overload]
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                **kwargs)
        self.processes.append(proc)
        return proc

    def run(self, host: Host, command: Sequence[str], env: dict[str, str] | None = None,
            timeout: float = 60, **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run `command` on `host` to its end (killed at `timeout`)."""
        proc = self.popen(host, command, env=env, **kwargs)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"{' '.join(command)} on {host.name} did not end in "
                                 f"{timeout} s: {out}{err}") from None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    # -- the network -----------------------------------------------------------------

    def reachable(self, ws: Host, address: str = DAEMON_ADDRESS, port: int = 9,
                  timeout: float = 0.5, refused_is_reachable: bool = True) -> bool:
        """Can `ws` reach ADDRESS:PORT (a connection or, unless told otherwise, a
        refusal both say yes)?"""
        mode = "refused-is-reachable" if refused_is_reachable else "listener-wanted"
        found = self.run(ws, [sys.executable, "-c", PROBE, address, str(port), str(timeout),
                              mode], timeout=30)
        return found.returncode == 0

    def wait_reachable(self, ws: Host, timeout: float = 20.0) -> None:
        wait_until(lambda: self.reachable(ws), f"{ws.name} to reach {DAEMON_ADDRESS}", timeout)

    def partition(self, ws: Host) -> None:
        """Cut `ws` off: its port on the bridge goes down; its packets are lost."""
        ip("-n", self.daemon.netns, "link", "set", ws.port, "down")

    def heal(self, ws: Host) -> None:
        ip("-n", self.daemon.netns, "link", "set", ws.port, "up")

    # -- the end ---------------------------------------------------------------------

    def close(self) -> None:
        """Kill every process started here (and anything left in the namespaces), then
        remove the namespaces: their links go with them; mounts lived only in the
        processes' own mount namespaces."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
        for proc in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
                proc.communicate(timeout=10)
        for netns in reversed(self.made):
            remove_namespace(netns)
        self.made.clear()

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(check: Callable[[], object], what: str, timeout: float = 20.0,
               every: float = 0.05) -> object:
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
