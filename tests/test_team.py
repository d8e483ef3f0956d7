"""Team mode on one machine: a daemon host and workstations as separate HOME/XDG trees,
a real `cropd --listen tcp://127.0.0.1:0` with CURVE, real `cropctl team` and
`multicrop --auto` processes, and the share seen by both (bind-mounted elsewhere
for the workstation where the test runs as root)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from conftest import make_images
from procs import ACKED
from team_helpers import Host, Workstation, cropctl, multicrop, ok, progress_dir

from crop_progress import shares, team_files

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def share(tmp_path: Path) -> Path:
    folder = tmp_path / "nas"
    make_images(folder / "shoot", 8, size=(40, 30))
    return folder


@pytest.fixture
def host(tmp_path: Path, share: Path) -> Iterator[Host]:
    running = Host(tmp_path / "host", share)
    running.start()
    yield running
    running.stop()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_private_and_joining_is_one_command(host: Host, tmp_path: Path,
                                                     share: Path) -> None:
    team = progress_dir(host.env) / "team"
    assert mode(team) == 0o700
    assert mode(team / "server.key_secret") == 0o600
    bundle = host.add("anna")
    assert mode(bundle) == 0o600
    assert (team / "members" / "anna.key").exists()
    assert "secret-key" not in (team / "members" / "anna.key").read_text()

    ws = Workstation(tmp_path / "ws1", bundle, share)
    ok(ws.joined)
    assert "The daemon answers" in ws.joined.stdout
    member = Path(ws.env["XDG_CONFIG_HOME"]) / "crop-progress" / "team" / "member.json"
    assert mode(member) == 0o600 and mode(member.parent) == 0o700
    listed = ok(cropctl(host.env, "team", "list")).stdout
    assert "anna" in listed and "member" in listed


def test_members_share_one_progress_file_named_by_the_share(host: Host, tmp_path: Path,
                                                            share: Path) -> None:
    first = Workstation(tmp_path / "ws1", host.add("anna"), share)
    second = Workstation(tmp_path / "ws2", host.add("ben"), share)
    # ben's workstation connects from another loopback address (the source binds first)
    second.env["CROPD_ENDPOINT"] = host.listen.replace("tcp://", "tcp://127.0.0.2:0;")
    procs = [subprocess.Popen([sys.executable, "-m", "crop_client.multicrop",
                               str(share / "shoot"), "--auto", "center", "--per-batch", "1"],
                              env=ws.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for ws in (first, second)]
    done = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], done
    acked = [ACKED.findall(out) for out, _err in done]
    assert sorted(acked[0] + acked[1]) == sorted(p.name for p in (share / "shoot").glob("*.png"))
    assert not set(acked[0]) & set(acked[1])

    record = json.loads((progress_dir(host.env) / "shoot_progress.json").read_text())
    assert record["directory"] == "studio:shoot/"
    assert record["completed_count"] == 8
    users = set()
    for line in (progress_dir(host.env) / "audit").glob("*.jsonl"):
        for event in map(json.loads, line.read_text().splitlines()):
            if event["op"] in ("crop", "keep"):
                users.add(event["client"]["user"])
    assert users <= {"anna", "ben"} and users
    wide = ok(cropctl(host.env, "log", str(share / "shoot"), "--wide")).stdout
    assert any(f"multicrop --auto {name} (" in wide for name in users)
    assert not list(progress_dir(first.env).glob("*_progress.json"))  # nothing on the workstation
    log = (host.root / "cropd.log").read_text()
    assert "member ben connected from 127.0.0.2" in log
    assert "member anna connected from 127.0.0.1" in log


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="a bind mount at another path needs root (CI runs as root)")
def test_a_share_mounted_elsewhere_is_the_same_directory(host: Host, tmp_path: Path,
                                                         share: Path) -> None:
    mount = tmp_path / "ws1" / "mnt" / "studio"
    mount.mkdir(parents=True)
    ws = Workstation(tmp_path / "ws1", host.add("anna"), mount)
    script = (f"mount --bind {share} {mount} && exec {sys.executable} -m crop_client.multicrop "
              f"{mount}/shoot --auto center")
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          env=ws.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(ACKED.findall(done.stdout)) == 8
    assert sorted(p.name for p in (share / "shoot_cropped").glob("*.png")) == \
        sorted(p.name for p in (share / "shoot").glob("*.png"))
    assert not list(mount.iterdir())  # the mount was the workstation's alone
    record = json.loads((progress_dir(host.env) / "shoot_progress.json").read_text())
    assert record["directory"] == "studio:shoot/"


def test_a_share_mapped_to_another_folder_is_refused_naming_both(host: Host, tmp_path: Path,
                                                                 share: Path) -> None:
    elsewhere = tmp_path / "other-nas"
    make_images(elsewhere / "shoot", 5, size=(40, 30), prefix="different")
    ws = Workstation(tmp_path / "ws1", host.add("anna"), elsewhere)
    done = multicrop(ws.env, str(elsewhere / "shoot"), "--auto", "center")
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1
    assert str(elsewhere / "shoot") in line and str(share / "shoot") in line
    assert not (progress_dir(host.env) / "shoot_progress.json").exists()


def test_refusals_are_told_apart_in_one_line(host: Host, tmp_path: Path, share: Path) -> None:
    import zmq

    # a key this daemon never saw, with the right server key
    known = team_files.read_bundle(host.add("anna"))
    public, secret = zmq.curve_keypair()
    stranger = tmp_path / "stranger.crop-team"
    team_files.write_bundle(stranger, msgspec.structs.replace(
        known, name="mallory", public_key=public.decode(), secret_key=secret.decode()))
    # a bundle of another team's daemon, naming this endpoint
    other = Host(tmp_path / "other", share)
    impostor = other.add("eve", endpoint=host.listen)
    lines = {}
    for label, bundle in (("unknown", stranger), ("wrong server", impostor)):
        ws = Workstation(tmp_path / f"ws-{label}", bundle, share)
        assert ws.joined.returncode == 2
        done = cropctl(ws.env, "status")
        assert done.returncode == 2
        lines[label] = done.stderr.strip()
        assert len(lines[label].splitlines()) == 1
    assert "refused the key of member 'mallory'" in lines["unknown"]
    assert "is not the one the bundle of 'eve' names" in lines["wrong server"]

    ws = Workstation(tmp_path / "ws-anna", host.add("ben"), share)
    host.stop()
    done = multicrop(ws.env, str(share / "shoot"), "--auto", "center")
    assert done.returncode == 2
    assert "nothing answers at tcp://127.0.0.1:" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.fixture
def member(host: Host, tmp_path: Path, share: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Workstation]:
    """A workstation whose environment this test process takes (for in-process Sessions)."""
    ws = Workstation(tmp_path / "ws1", host.add("anna"), share)
    for name, value in ws.env.items():
        if name.startswith("XDG_") or name == "HOME":
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("CROPD_ENDPOINT", raising=False)
    shares.forget_cache()
    yield ws
    shares.forget_cache()


def test_who_holds_what_and_revocation_on_an_open_connection(host: Host, member: Workstation,
                                                              share: Path) -> None:
    from crop_client.errors import DaemonError
    from crop_client.session import Session

    with Session(program="test-window") as session:
        opened = session.open(share / "shoot")
        assert opened.summary.directory == str(share / "shoot") + "/"
        claimed = session.claim(opened.summary.directory, 2)
        assert [i.path for i in claimed.items] == [str(share / "shoot" / i.file)
                                                   for i in claimed.items]
        shown = json.loads(ok(cropctl(host.env, "status", "--json")).stdout)
        row = next(d for d in shown["directories"] if d["directory"] == "studio:shoot/")
        assert [(h["user"], h["files"]) for h in row["holders"]] == \
            [("anna", sorted(i.file for i in claimed.items))]
        text = ok(cropctl(host.env, "status")).stdout
        assert f"shoot/ held by anna: {', '.join(sorted(i.file for i in claimed.items))}" \
            in text

        ok(cropctl(host.env, "team", "revoke", "anna"))
        with pytest.raises(DaemonError) as refused:
            deadline = time.monotonic() + 10  # the daemon reads the members folder anew
            while time.monotonic() < deadline:
                session.claim(opened.summary.directory, 1)
        assert refused.value.code == "NOT_ALLOWED"


def test_a_member_works_on_the_shares_only(host: Host, member: Workstation, share: Path,
                                           tmp_path: Path) -> None:
    from crop_client.session import Session
    from crop_protocol import messages as m

    private = tmp_path / "host-private"
    make_images(private, 2)
    with Session(program="test-window", heartbeat=False) as session:
        for request in (m.Shutdown(), m.Open(directory=str(private)),
                        m.Open(directory=str(share / "shoot"), progress_dir=str(tmp_path))):
            reply = session.conn.call(request)
            assert isinstance(reply, m.Err) and reply.code == "NOT_ALLOWED", reply
    assert host.proc is not None and host.proc.poll() is None


def test_the_dashboard_card_names_the_holders() -> None:
    from crop_client.web import pages
    from crop_protocol import messages as m

    summary = m.Summary(directory="studio:shoot/", progress_file="/p/shoot_progress.json",
                        total_images=10, holders=[
                            m.Holder(user="anna", files=["a.png", "b.png"]),
                            m.Holder(program="multicrop", pid=42, files=["c.png"])])
    html = pages.card(summary)
    assert "<b>anna</b>: 2 images" in html
    assert "<b>multicrop</b> (pid 42): 1 image<" in html


def test_a_directory_worked_on_before_the_share_map_keeps_its_progress(
        host: Host, tmp_path: Path, share: Path) -> None:
    shares_file = Path(host.env["XDG_CONFIG_HOME"]) / "crop-progress" / "shares.json"
    saved = shares_file.read_bytes()
    host.stop()
    shares_file.unlink()
    host.start()
    local = multicrop(host.env, str(share / "shoot"), "--auto", "center")
    assert local.returncode == 0 and len(ACKED.findall(local.stdout)) == 8, local.stderr
    record = json.loads((progress_dir(host.env) / "shoot_progress.json").read_text())
    assert record["directory"] == str(share / "shoot") + "/"

    host.stop()
    shares_file.write_bytes(saved)
    host.start()
    ws = Workstation(tmp_path / "ws1", host.add("anna"), share)
    again = multicrop(ws.env, str(share / "shoot"), "--auto", "center")
    assert again.returncode == 0, again.stderr
    assert ACKED.findall(again.stdout) == []  # nothing done twice
    assert [p.name for p in progress_dir(host.env).glob("*_progress.json")] == \
        ["shoot_progress.json"]
    record = json.loads((progress_dir(host.env) / "shoot_progress.json").read_text())
    assert record["directory"] == "studio:shoot/" and record["completed_count"] == 8
