"""`cropctl team`: several workstations, one daemon, a CURVE key per person.

On the daemon's host:   cropctl team init --listen tcp://HOST:PORT
                        cropctl team add anna            (writes anna.crop-team, 0600)
                        cropctl team share studio /srv/studio
On anna's workstation:  cropctl team join anna.crop-team
                        cropctl team share studio /mnt/studio

Keys are pyzmq's (`zmq.curve_keypair`, `zmq.auth` certificates); the files'
places and modes are `crop_progress.team_files`'.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from crop_client.cropctl.commands import guard
from crop_client.cropctl.errors import EXIT_DAEMON, CtlError
from crop_progress import fsio, paths, shares, team_files
from crop_progress.commandline import Group, examples

BUNDLE_SUFFIX = ".crop-team"
P = ParamSpec("P")
R = TypeVar("R")


@click.group("team", cls=Group, epilog=examples(
    "cropctl team init --listen tcp://192.168.1.10:5555", "cropctl team add anna",
    "cropctl team join anna.crop-team", "cropctl team share studio /mnt/studio"))
def team() -> None:
    """Team mode: workstations of a studio crop one share through one daemon.

    The daemon's host keeps the progress files and a key per member; each
    workstation joins with the bundle `team add` wrote, and says where it mounts the
    shares. All traffic is CURVE-encrypted; a revoked member is refused at once.
    """


def _progress() -> Path:
    return paths.progress_dir()


@team.command("init", epilog=examples("cropctl team init --listen tcp://192.168.1.10:5555",
                                      "cropctl team init --listen 'tcp://*:5555'"))
@click.option("--listen", metavar="tcp://HOST:PORT", default=None,
              help="where cropd serves the team, and what bundles tell members to reach")
@guard
def team_init(listen: str | None) -> int:
    """Make the daemon's key pair (once) and record where it listens."""
    import zmq.auth

    if listen is not None and not listen.startswith("tcp://"):
        raise CtlError(f"--listen takes tcp://HOST:PORT, not {listen!r}")
    progress = _progress()
    folder = team_files.private_dir(team_files.team_dir(progress))
    team_files.private_dir(team_files.members_dir(progress))
    secret = team_files.server_secret(progress)
    if secret.exists():
        click.echo(f"The daemon's keys are already in {folder} (kept: new ones would "
                   "invalidate every bundle).")
    else:
        old = os.umask(0o077)  # pyzmq writes certificates 0644: ours are private from birth
        try:
            zmq.auth.create_certificates(folder, "server")
        finally:
            os.umask(old)
        secret.chmod(0o600)
        team_files.server_public(progress).chmod(0o644)
        click.echo(f"Made the daemon's keys in {folder}.")
    current = team_files.settings(progress) or team_files.TeamSettings()
    if listen is not None:
        current.listen = listen
        team_files.save_settings(progress, current)
    if current.listen:
        click.echo(f"cropd serves the team on {current.listen} when started (`cropd` reads "
                   "it; or `cropd --listen ...`).")
    else:
        click.echo("No listen address yet: `cropctl team init --listen tcp://HOST:PORT`.")
    click.echo("Next: `cropctl team add NAME` for each member.")
    return 0


def _endpoint_for_bundles(progress: Path, given: str | None) -> str:
    if given:
        return given
    try:
        bound = team_files.listening_file(progress).read_text().strip()
    except OSError:
        bound = ""
    if bound:
        return bound
    recorded = team_files.settings(progress)
    if recorded is None or not recorded.listen:
        raise CtlError("no listen address: `cropctl team init --listen tcp://HOST:PORT` "
                       "first (or give --endpoint)")
    head, _, port = recorded.listen.rpartition(":")
    host = head[len("tcp://"):]
    if host in ("*", "0.0.0.0", "[::]") or port in ("0", "*"):
        raise CtlError(f"{recorded.listen} names no host or port members can reach: start "
                       "cropd first (its bound address is used) or give --endpoint")
    return recorded.listen


@team.command("add", epilog=examples("cropctl team add anna",
                                     "cropctl team add ben --out /media/usb/ben.crop-team"))
@click.argument("name")
@click.option("--out", "out", metavar="FILE", type=click.Path(path_type=Path), default=None,
              help=f"where to write the join bundle (default: ./NAME{BUNDLE_SUFFIX})")
@click.option("--endpoint", metavar="tcp://HOST:PORT", default=None,
              help="the address members reach the daemon at (default: the one it listens on)")
@guard
def team_add(name: str, out: Path | None, endpoint: str | None) -> int:
    """Make a member's key pair and its join bundle (0600: it is the member's password)."""
    import zmq.auth

    progress = _progress()
    _check(team_files.check_member_name, name)
    secret_file = team_files.server_secret(progress)
    if not secret_file.exists():
        raise CtlError("no team here yet: `cropctl team init --listen tcp://HOST:PORT` first")
    members = team_files.private_dir(team_files.members_dir(progress))
    public_file = members / f"{name}.key"
    if public_file.exists():
        raise CtlError(f"{name} is a member already (revoke first to give a new key)")
    reach = _endpoint_for_bundles(progress, endpoint)
    server_key, _ = zmq.auth.load_certificate(secret_file)
    target = out or Path.cwd() / f"{name}{BUNDLE_SUFFIX}"
    if target.exists():
        raise CtlError(f"{target} exists: give another --out")
    scratch = Path(tempfile.mkdtemp(prefix="crop-team-"))  # 0700, ours
    try:
        public_path, secret_path = zmq.auth.create_certificates(scratch, name)
        public, secret = zmq.auth.load_certificate(secret_path)
        assert secret is not None
        team_files.write_bundle(target, team_files.Bundle(
            name=name, endpoint=reach, server_key=server_key.decode(),
            public_key=public.decode(), secret_key=secret.decode()))
        Path(public_path).chmod(0o644)
        fsio.rename(Path(public_path), public_file)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with contextlib.suppress(OSError):
        (team_files.revoked_dir(progress) / f"{name}.key").unlink()
    click.echo(f"Added {name}. Join bundle: {target} (mode 0600; hand it over privately).")
    click.echo(f"On {name}'s workstation: cropctl team join {target.name}")
    return 0


@team.command("list", epilog=examples("cropctl team list"))
@guard
def team_list() -> int:
    """The members (and revoked ones) of this host's team; this machine's shares and the
    daemon it joined."""
    progress = _progress()
    recorded = team_files.settings(progress)
    if team_files.server_secret(progress).exists():
        click.echo(f"Team of this host ({team_files.team_dir(progress)}), listening on "
                   f"{(recorded.listen if recorded else None) or 'nothing yet'}:")
        rows = [(p.stem, "member") for p in sorted(team_files.members_dir(progress).glob("*.key"))]
        rows += [(p.stem, "revoked")
                 for p in sorted(team_files.revoked_dir(progress).glob("*.key"))]
        for who, what in rows:
            click.echo(f"  {who:<24} {what}")
        if not rows:
            click.echo("  no members yet: cropctl team add NAME")
    joined = _joined()
    if joined is not None:
        click.echo(f"This workstation joined {joined.endpoint} as {joined.name}.")
    mounted = _check(shares.load)
    for share, where in sorted(mounted.items()):
        click.echo(f"Share {share} is at {where} here.")
    if not mounted and not team_files.server_secret(progress).exists() and joined is None:
        click.echo("No team here: `cropctl team init` on the daemon's host, "
                   "`cropctl team join BUNDLE` on a workstation.")
    return 0


@team.command("revoke", epilog=examples("cropctl team revoke ben"))
@click.argument("name")
@guard
def team_revoke(name: str) -> int:
    """Refuse a member from its next connection (and its next request on an open one)."""
    progress = _progress()
    _check(team_files.check_member_name, name)
    public_file = team_files.members_dir(progress) / f"{name}.key"
    if not public_file.exists():
        raise CtlError(f"{name} is not a member of the team in {team_files.team_dir(progress)}")
    revoked = team_files.private_dir(team_files.revoked_dir(progress))
    fsio.rename(public_file, revoked / f"{name}.key")
    click.echo(f"Revoked {name}: refused from now on. Its claims come back after the lease "
               "TTL.")
    return 0


@team.command("join", epilog=examples("cropctl team join anna.crop-team"))
@click.argument("bundle", metavar="FILE", type=click.Path(path_type=Path))
@guard
def team_join(bundle: Path) -> int:
    """On a workstation: use the daemon of this bundle from now on (keys kept 0600)."""
    found = _check(team_files.read_bundle, bundle)
    where = team_files.join(found)
    click.echo(f"Joined {found.endpoint} as {found.name} (keys in {where}).")
    reached = _probe(found.endpoint)
    if reached is not None:
        click.echo(reached)
    if not _check(shares.load):
        click.echo("Next: `cropctl team share NAME PATH` for each share this workstation "
                   "mounts.")
    return 0


def _probe(endpoint: str) -> str | None:
    """Say whether the daemon answers now; a refused key or a wrong daemon is an error."""
    from crop_client import team as client_team
    from crop_client.connection import Connection
    from crop_client.errors import AccessRefused, DaemonUnavailable, WrongServer
    from crop_protocol import messages as m

    conn = Connection(endpoint, "cropctl-join", try_timeout=2.0, total_timeout=4.0,
                      curve=client_team.curve_for(endpoint))
    try:
        reply = conn.call(m.Status())
    except (AccessRefused, WrongServer) as exc:
        raise CtlError(str(exc), EXIT_DAEMON) from None
    except DaemonUnavailable as exc:
        return f"Not reachable now ({exc}); clients will try again when they start."
    finally:
        conn.close()
    if isinstance(reply, m.StatusReply):
        return f"The daemon answers (pid {reply.daemon.pid}, cropd {reply.daemon.version})."
    if isinstance(reply, m.Err):
        raise CtlError(reply.message, EXIT_DAEMON)
    return None


@team.command("share", epilog=examples("cropctl team share studio /mnt/studio",
                                       "cropctl team share studio /Volumes/studio"))
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@guard
def team_share(name: str, path: Path) -> int:
    """Say that this machine mounts share NAME at PATH (on every machine of the team,
    the daemon's host included). A directory on it is known as NAME:relative/path/."""
    _check(shares.check_name, name)
    resolved = path.expanduser().resolve()
    if not resolved.is_dir():
        raise CtlError(f"{path} is not a directory here")
    mounted = dict(_check(shares.load))
    for other, where in mounted.items():
        if other != name and where == resolved:
            raise CtlError(f"{resolved} is share {other} already")
    mounted[name] = resolved
    saved = shares.save(mounted)
    click.echo(f"Share {name} is at {resolved} on this machine (in {saved}).")
    return 0


def _joined() -> team_files.Bundle | None:
    return _check(team_files.joined)


def _check(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a team_files/shares call; its one-line errors become cropctl's."""
    try:
        return fn(*args, **kwargs)
    except (team_files.TeamError, shares.ShareError) as exc:
        raise CtlError(str(exc)) from None
