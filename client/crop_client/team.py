"""A workstation's side of team mode: its keys for the daemon, and its paths.

A workstation mounts the team's shares where it likes; the daemon has its own
mounts (sent in `Welcome.shares`). `PathMap` turns this machine's paths into
the daemon's on the way out and back on the way in, so the rest of the client
(the window, `--auto`, the file work) sees only local paths, and the daemon
only its own. A directory's identity is (share, relative path), the key
`NAME:relative/`; never an absolute path or an inode.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import msgspec

from crop_client.errors import DaemonUnavailable
from crop_client.handshake import CurveKeys
from crop_progress import shares, team_files
from crop_protocol import messages as m

SAMPLE_SIZE = 32  # image names an Open sends so the daemon can tell another folder


class OffShare(ValueError):
    """A path of this workstation that is on none of the team's shares."""


def is_team_endpoint(endpoint: str) -> bool:
    return endpoint.startswith("tcp://")


def curve_for(endpoint: str) -> CurveKeys:
    """The keys to reach a team daemon: this user's joined bundle."""
    try:
        bundle = team_files.joined()
    except team_files.TeamError as exc:
        raise DaemonUnavailable(str(exc)) from None
    if bundle is None:
        raise DaemonUnavailable(f"{endpoint} is a team daemon (tcp, CURVE): join it first "
                                "with `cropctl team join BUNDLE`")
    path = team_files.member_file()
    try:
        team_files.check_private(path)
    except (OSError, team_files.TeamError) as exc:
        raise DaemonUnavailable(str(exc)) from None
    return CurveKeys(bundle.name, bundle.server_key, bundle.public_key, bundle.secret_key)


class PathMap:
    """This workstation's paths <-> the daemon's, through the shares both mount."""

    def __init__(self, local: dict[str, Path], daemon: dict[str, str], *,
                 strict: bool = True) -> None:
        self.local = local
        self.daemon = {name: PurePosixPath(root) for name, root in daemon.items()}
        self.strict = strict  # a team member: every path must be on a share

    # -- out: ours -> the daemon's ----------------------------------------------------
    def to_daemon(self, path: str | Path) -> str:
        resolved = Path(path).expanduser().resolve()
        found = shares.locate(resolved, self.local)
        if found is None and not self.strict:
            return str(resolved)  # the daemon's own host: its paths are ours
        if found is None:
            names = ", ".join(f"{n} at {p}" for n, p in sorted(self.local.items())) or "none"
            raise OffShare(f"{resolved} is on none of this workstation's shares ({names}): "
                           "team work happens on a share (`cropctl team share NAME PATH`)")
        name, relative = found
        root = self.daemon.get(name)
        if root is None:
            raise OffShare(f"the daemon's host does not mount share {name!r}: run "
                           f"`cropctl team share {name} PATH` there")
        return str(root / relative) if relative else str(root)

    def maybe_to_daemon(self, path: str) -> str:
        """A path on a share in the daemon's terms; any other (this workstation's own
        trash) as it is."""
        try:
            return self.to_daemon(path)
        except OffShare:
            return path

    # -- in: the daemon's -> ours --------------------------------------------------
    def to_local(self, text: str) -> str:
        """A daemon path or a share key, as this workstation reaches it (unchanged when
        this workstation does not mount that share)."""
        if not text:
            return text
        slash = text.endswith("/")
        on_share = shares.split_key(text)
        if on_share is not None:
            found = shares.resolve(*on_share, self.local)
            return text if found is None else _slashed(str(found), slash)
        pure = PurePosixPath(text)
        for name, root in self.daemon.items():
            if pure == root or pure.is_relative_to(root):
                mine = self.local.get(name)
                if mine is not None:
                    return _slashed(str(mine.joinpath(*pure.relative_to(root).parts)), slash)
        return text

    def summary(self, found: m.Summary) -> m.Summary:
        return msgspec.structs.replace(found, directory=self.to_local(found.directory),
                                       output_directory=self.to_local(found.output_directory))

    def claimed(self, found: m.Claimed) -> m.Claimed:
        items = [msgspec.structs.replace(i, path=self.to_local(i.path)) for i in found.items]
        return msgspec.structs.replace(found, items=items, summary=self.summary(found.summary))

    def undone(self, found: m.Undone) -> m.Undone:
        items = [msgspec.structs.replace(i, dest=self.to_local(i.dest) if i.dest else i.dest,
                                         trashed=[self.to_local(t) for t in i.trashed])
                 for i in found.items]
        return msgspec.structs.replace(found, items=items, summary=self.summary(found.summary))

    def report(self, report: m.Report, directory: str) -> m.Report:
        return msgspec.structs.replace(
            report, directory=directory,
            dest=self.to_daemon(report.dest) if report.dest else report.dest,
            trashed=[self.maybe_to_daemon(t) for t in report.trashed])


def _slashed(text: str, slash: bool) -> str:
    return text + os.sep if slash and not text.endswith(os.sep) else text


def local_view(directory: Path) -> dict[str, object]:
    """What this workstation sees at its mount of a directory, for the daemon to compare
    (the fields of `Open`: client_path, image_count, names_digest, sample)."""
    from crop_progress.scan import directory_hash, scan_directory

    try:
        images = scan_directory(directory).images
    except OSError as exc:
        raise OffShare(f"cannot read {directory}: {exc.strerror or exc}") from None
    step = max(1, len(images) // SAMPLE_SIZE)
    return {"client_path": str(directory), "image_count": len(images),
            "names_digest": directory_hash(images), "sample": images[::step][:SAMPLE_SIZE]}
