"""Where team mode keeps its keys and settings, and the join bundle's format.

On the daemon host, `<progress-dir>/team/` (0700):

    team.json            {"listen": "tcp://HOST:PORT"}: what cropd binds, what bundles name
    server.key           the daemon's public certificate (ZeroMQ's ZPL format)
    server.key_secret    its secret certificate (0600)
    members/NAME.key     each member's public certificate; removing one revokes it
    revoked/NAME.key     revoked members, kept for `cropctl team list`
    listening            the endpoint cropd actually bound (a port of 0 becomes a real one)

A member's secret key lives only in its join bundle (0600) and, after
`cropctl team join`, in `<user config dir>/crop-progress/team/member.json`
(0600, in a 0700 folder) on the workstation. Key generation and the
certificate format are pyzmq's (`zmq.auth`); this module only places files.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import platformdirs

from crop_progress import fsio, shares

APP = "crop-progress"
BUNDLE_FORMAT = "crop-progress-team-1"


class TeamError(ValueError):
    """A team file that is missing, damaged or unsafe; the message says which, in one line."""


class Bundle(msgspec.Struct, kw_only=True):
    """What `cropctl team add` hands a member and `cropctl team join` installs."""
    format: str = BUNDLE_FORMAT
    name: str
    endpoint: str
    server_key: str   # z85 public key of the daemon
    public_key: str   # z85, the member's
    secret_key: str   # z85, the member's: this file is the member's password


class TeamSettings(msgspec.Struct, kw_only=True):
    listen: str | None = None


def check_member_name(name: str) -> str:
    try:
        return shares.check_name(name, "member name")  # the same rule: it names files
    except shares.ShareError as exc:
        raise TeamError(str(exc)) from None


def private_dir(path: Path) -> Path:
    """A 0700 folder (made, or tightened when it is looser)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def team_dir(progress_dir: Path) -> Path:
    return progress_dir / "team"


def members_dir(progress_dir: Path) -> Path:
    return team_dir(progress_dir) / "members"


def revoked_dir(progress_dir: Path) -> Path:
    return team_dir(progress_dir) / "revoked"


def server_public(progress_dir: Path) -> Path:
    return team_dir(progress_dir) / "server.key"


def server_secret(progress_dir: Path) -> Path:
    return team_dir(progress_dir) / "server.key_secret"


def listening_file(progress_dir: Path) -> Path:
    return team_dir(progress_dir) / "listening"


def settings_file(progress_dir: Path) -> Path:
    return team_dir(progress_dir) / "team.json"


def settings(progress_dir: Path) -> TeamSettings | None:
    """The team of this progress folder; None when `cropctl team init` never ran."""
    path = settings_file(progress_dir)
    try:
        return msgspec.json.decode(path.read_bytes(), type=TeamSettings)
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError) as exc:
        raise TeamError(f"cannot read {path}: {exc}") from None


def save_settings(progress_dir: Path, value: TeamSettings) -> None:
    private_dir(team_dir(progress_dir))
    fsio.atomic_write(settings_file(progress_dir), msgspec.json.encode(value) + b"\n",
                      mode=0o600)


def check_private(path: Path) -> None:
    """Refuse a secret that others can read: its file 0600, its folder 0700, ours."""
    for item, loose in ((path, 0o077), (path.parent, 0o077)):
        info = item.stat()
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise TeamError(f"{item} belongs to another user; refusing to use its key")
        if info.st_mode & loose:
            raise TeamError(f"{item} is readable by others (mode {info.st_mode & 0o777:o}); "
                            f"chmod {'600' if item == path else '700'} it first")


# -- the workstation's side ---------------------------------------------------

def member_file() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "team" / "member.json"


def write_bundle(path: Path, bundle: Bundle) -> None:
    data = msgspec.json.format(msgspec.json.encode(bundle)) + b"\n"
    fsio.atomic_write(path, data, mode=0o600)


def read_bundle(path: Path) -> Bundle:
    try:
        bundle = msgspec.json.decode(path.read_bytes(), type=Bundle)
    except FileNotFoundError:
        raise TeamError(f"no such file: {path}") from None
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise TeamError(f"{path} is not a crop-progress join bundle: {exc}") from None
    if bundle.format != BUNDLE_FORMAT:
        raise TeamError(f"{path} is a bundle of format {bundle.format!r}; this version reads "
                        f"{BUNDLE_FORMAT!r}")
    check_member_name(bundle.name)
    for field in ("server_key", "public_key", "secret_key"):
        if len(getattr(bundle, field)) != 40:
            raise TeamError(f"{path}: {field} is not a 40-character Z85 CURVE key")
    return bundle


def joined() -> Bundle | None:
    """The team daemon this user joined, if any."""
    path = member_file()
    if not path.exists():
        return None
    return read_bundle(path)


def join(bundle: Bundle) -> Path:
    path = member_file()
    private_dir(path.parent)
    write_bundle(path, bundle)
    return path
