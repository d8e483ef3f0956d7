"""A workstation's paths and the daemon's, through the shares both mount; share keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from crop_client.team import OffShare, PathMap
from crop_progress import shares


def test_share_keys_name_a_directory_whatever_the_mount(tmp_path: Path) -> None:
    mounted = {"studio": tmp_path / "mnt", "deep": tmp_path / "mnt" / "clients" / "acme"}
    assert shares.locate(tmp_path / "mnt" / "shoot", mounted) == ("studio", "shoot")
    assert shares.locate(tmp_path / "mnt" / "clients" / "acme" / "x", mounted) == ("deep", "x")
    assert shares.locate(tmp_path / "elsewhere", mounted) is None
    assert shares.key_of("studio", "shoot/a") == "studio:shoot/a/"
    assert shares.key_of("studio", "") == "studio:"
    assert shares.split_key("studio:shoot/a/") == ("studio", "shoot/a")
    assert shares.split_key("/abs/path/") is None
    assert shares.resolve("studio", "../etc", mounted) is None
    assert shares.resolve("nowhere", "x", mounted) is None


def test_a_bad_share_name_is_refused() -> None:
    with pytest.raises(shares.ShareError):
        shares.check_name("has space")


def test_paths_go_out_in_the_daemons_terms_and_come_back_in_ours(tmp_path: Path) -> None:
    local = tmp_path / "ws" / "studio"
    (local / "shoot").mkdir(parents=True)
    paths = PathMap({"studio": local}, {"studio": "/srv/nas/studio"})
    assert paths.to_daemon(local / "shoot") == "/srv/nas/studio/shoot"
    assert paths.to_local("/srv/nas/studio/shoot_cropped/a.png") == \
        str(local / "shoot_cropped" / "a.png")
    assert paths.to_local("studio:shoot/") == str(local / "shoot") + "/"
    assert paths.to_local("/srv/other/x.png") == "/srv/other/x.png"
    home_trash = str(tmp_path / "home" / ".local/share/Trash/files/a.png")
    assert paths.maybe_to_daemon(home_trash) == home_trash
    with pytest.raises(OffShare, match="none of this workstation's shares"):
        paths.to_daemon(tmp_path / "private")


def test_a_share_the_daemon_does_not_mount_is_named(tmp_path: Path) -> None:
    paths = PathMap({"scans": tmp_path}, {"studio": "/srv/nas"})
    with pytest.raises(OffShare, match="does not mount share 'scans'"):
        paths.to_daemon(tmp_path / "x")


def test_on_the_daemons_own_host_paths_off_the_shares_stay_as_they_are(tmp_path: Path) -> None:
    paths = PathMap({"studio": tmp_path / "nas"}, {"studio": str(tmp_path / "nas")},
                    strict=False)
    assert paths.to_daemon(tmp_path / "private") == str(tmp_path / "private")
