"""Every location of SPEC.md "Where things live" follows HOME, XDG_* and the overrides."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from core_helpers import isolate_env

from crop_progress import paths
from crop_progress.audit import log_file


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- progress files and the audit log -------------------------------------------

def test_progress_dir_follows_xdg_data_home(env):
    assert paths.progress_dir() == env / "data" / "crop-progress" / "crop_progress"


def test_progress_dir_falls_back_to_home_without_xdg(env, monkeypatch):
    monkeypatch.delenv("XDG_DATA_HOME")
    assert paths.progress_dir() == env / "home" / ".local" / "share" / "crop-progress" / \
        "crop_progress"


def test_progress_dir_env_override(env, monkeypatch, tmp_path):
    monkeypatch.setenv("CROP_PROGRESS_DIR", str(tmp_path / "mine"))
    assert paths.progress_dir() == tmp_path / "mine"


def test_progress_dir_env_override_relative_and_tilde(env, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CROP_PROGRESS_DIR", "rel/progress")
    assert paths.progress_dir() == tmp_path / "rel" / "progress"
    monkeypatch.setenv("CROP_PROGRESS_DIR", "~/p")
    assert paths.progress_dir() == env / "home" / "p"


def test_progress_dir_flag_beats_env(env, monkeypatch, tmp_path):
    monkeypatch.setenv("CROP_PROGRESS_DIR", str(tmp_path / "env-choice"))
    assert paths.progress_dir(tmp_path / "flag-choice") == tmp_path / "flag-choice"


def test_audit_log_follows_progress_dir(env, monkeypatch, tmp_path):
    monkeypatch.setenv("CROP_PROGRESS_DIR", str(tmp_path / "pd"))
    audit = paths.audit_dir(paths.progress_dir())
    assert audit == tmp_path / "pd" / "audit"
    assert log_file(audit, "2025-09-25") == tmp_path / "pd" / "audit" / "2025-09-25.jsonl"


def test_nothing_is_created_by_asking_for_the_progress_dir(env):
    paths.progress_dir()
    paths.log_dir()
    assert not (env / "data" / "crop-progress").exists()
    assert not (env / "state" / "crop-progress").exists()


# -- the daemon's log ------------------------------------------------------------

def test_log_dir_follows_xdg_state_home(env):
    assert paths.log_dir() == env / "state" / "crop-progress" / "log"


def test_log_dir_falls_back_to_home(env, monkeypatch):
    monkeypatch.delenv("XDG_STATE_HOME")
    assert paths.log_dir() == env / "home" / ".local" / "state" / "crop-progress" / "log"


def test_daemon_log_default_endpoint_is_in_the_log_dir(env):
    assert paths.daemon_log_path(paths.default_endpoint()) == paths.log_dir() / "cropd.log"


def test_daemon_log_follows_a_custom_endpoint(env, monkeypatch, tmp_path):
    endpoint = f"ipc://{tmp_path}/sock/custom.sock"
    monkeypatch.setenv("CROPD_ENDPOINT", endpoint)
    assert paths.daemon_log_path(endpoint) == tmp_path / "sock" / "custom.log"


# -- the endpoint, its lock and the runtime folder -----------------------------------

def test_endpoint_in_xdg_runtime_dir_private_folder(env):
    endpoint = paths.default_endpoint()
    folder = env / "runtime" / "crop-progress"
    assert endpoint == f"ipc://{folder / 'cropd.sock'}"
    assert folder.is_dir()
    assert mode(folder) == 0o700


def test_lock_beside_the_socket(env):
    endpoint = paths.default_endpoint()
    assert paths.lock_path(endpoint) == env / "runtime" / "crop-progress" / "cropd.lock"
    assert paths.socket_path(endpoint) == env / "runtime" / "crop-progress" / "cropd.sock"


def test_lock_for_a_tcp_endpoint_lives_in_the_runtime_dir(env):
    lock = paths.lock_path("tcp://127.0.0.1:5555")
    assert lock.parent == env / "runtime" / "crop-progress"
    assert lock.name.startswith("cropd-") and lock.suffix == ".lock"
    assert paths.socket_path("tcp://127.0.0.1:5555") is None
    assert lock != paths.lock_path("tcp://127.0.0.1:5556")


def test_open_runtime_folder_is_tightened_to_0700(env):
    folder = env / "runtime" / "crop-progress"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    paths.default_endpoint()
    assert mode(folder) == 0o700


def test_endpoint_env_override(env, monkeypatch):
    monkeypatch.setenv("CROPD_ENDPOINT", "tcp://127.0.0.1:7777")
    assert paths.default_endpoint() == "tcp://127.0.0.1:7777"
    assert not (env / "runtime" / "crop-progress").exists()


@pytest.mark.parametrize("how", ["unset", "missing"])
def test_private_runtime_folder_when_xdg_runtime_dir_is_missing(env, monkeypatch, tmp_path,
                                                               how):
    if how == "unset":
        monkeypatch.delenv("XDG_RUNTIME_DIR")
    else:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "does-not-exist"))
    fake_tmp = tmp_path / "tmp"
    fake_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(fake_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    endpoint = paths.default_endpoint()
    folder = fake_tmp / f"crop-progress-{os.getuid()}"
    assert endpoint == f"ipc://{folder / 'cropd.sock'}"
    assert mode(folder) == 0o700
    assert not (tmp_path / "does-not-exist").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a folder to another user")
def test_runtime_folder_of_another_user_is_refused(env):
    folder = env / "runtime" / "crop-progress"
    folder.mkdir(mode=0o700)
    os.chown(folder, 12345, 12345)
    with pytest.raises(paths.RuntimeDirError, match="another user"):
        paths.default_endpoint()


def _long_runtime_dir(tmp_path: Path) -> Path:
    deep = tmp_path / ("r" * 60) / ("u" * 60)
    deep.mkdir(parents=True)
    return deep


def test_ipc_path_over_the_af_unix_limit_falls_back_to_a_short_stable_path(env, monkeypatch,
                                                                          tmp_path):
    deep = _long_runtime_dir(tmp_path)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    natural = deep / "crop-progress" / "cropd.sock"
    assert len(os.fsencode(str(natural))) > 107

    endpoint = paths.default_endpoint()
    sock = paths.socket_path(endpoint)
    assert sock is not None
    assert len(os.fsencode(str(sock))) <= paths.IPC_PATH_LIMIT <= 107
    assert sock != natural
    assert mode(sock.parent) == 0o700
    assert sock.parent.stat().st_uid == os.getuid()
    # stable: the same long path always maps to the same short one
    assert paths.default_endpoint() == endpoint
    # the lock follows the socket
    assert paths.lock_path(endpoint).parent == sock.parent


def test_different_long_paths_get_different_short_paths(tmp_path):
    deep = _long_runtime_dir(tmp_path)
    one = paths.ipc_endpoint(deep / "a" / "cropd.sock")
    two = paths.ipc_endpoint(deep / "b" / "cropd.sock")
    assert one != two


def test_short_ipc_path_is_kept_as_is(tmp_path):
    sock = tmp_path / "x.sock"
    assert paths.ipc_endpoint(sock) == f"ipc://{sock}"


def test_ipc_path_at_exactly_the_limit_is_kept(tmp_path):
    base = str(tmp_path / "s")
    name = base + "x" * (paths.IPC_PATH_LIMIT - len(os.fsencode(base)))
    assert len(os.fsencode(name)) == paths.IPC_PATH_LIMIT
    assert paths.ipc_endpoint(Path(name)) == f"ipc://{name}"
    assert paths.ipc_endpoint(Path(name + "y")) != f"ipc://{name}y"


# -- the trash, outputs, directory keys ------------------------------------------------

def test_trash_follows_xdg_data_home_then_home(env, monkeypatch):
    assert paths.trash_home() == env / "data" / "Trash"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert paths.trash_home() == env / "home" / ".local" / "share" / "Trash"


def test_default_output_dir_is_the_cropped_sibling(tmp_path):
    assert paths.default_output_dir(tmp_path / "_asian") == tmp_path / "_asian_cropped"


def test_directory_key_has_one_trailing_slash(tmp_path):
    assert paths.directory_key(tmp_path / "x") == f"{tmp_path}/x/"
    assert paths.directory_key(Path("/")) == "/"


def test_canonical_directory_expands_home(env):
    assert paths.canonical_directory("~/pics") == env / "home" / "pics"
