"""`cropctl service`: the systemd unit, the launchd agent, and installing them.

Nothing here touches the real home or a real user service: HOME and
XDG_CONFIG_HOME point at temporary folders, and systemctl / launchctl are
fakes handed to the functions as their command runner. Only
`systemd-analyze verify` runs for real, on a rendered copy of the unit.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from crop_client import service
from crop_client.service import (
    EXIT_FAILED,
    EXIT_NO_MANAGER,
    EXIT_OK,
    LABEL,
    PLIST_NAME,
    UNIT_NAME,
)

REPO = Path(__file__).resolve().parents[1]
NO_BUS = "Failed to connect to bus: No medium found\n"


class FakeRunner:
    """Stands in for subprocess.run: records argv, answers by verb.

    The verb is `daemon-reload`, `enable`, `is-active`... for `systemctl --user`
    and `bootstrap`, `bootout`, `print` for launchctl. An answer is
    (returncode, stdout, stderr) or an exception to raise.
    """

    def __init__(self, answers: dict | None = None, default=(0, "", "")) -> None:
        self.answers = answers or {}
        self.default = default
        self.calls: list[list[str]] = []

    def __call__(self, argv, **kwargs):
        assert kwargs.get("check") is False, "a failing command must not raise"
        assert kwargs.get("timeout"), "every command needs a deadline"
        argv = list(argv)
        self.calls.append(argv)
        verb = argv[2] if argv[:2] == ["systemctl", "--user"] else argv[1]
        answer = self.answers.get(verb, self.default)
        if isinstance(answer, BaseException):
            raise answer
        code, out, err = answer
        return subprocess.CompletedProcess(argv, code, out, err)


def refuse(argv, **kwargs):
    raise AssertionError(f"no command may run here, ran {argv}")


def missing(argv, **kwargs):
    raise FileNotFoundError(2, "No such file or directory", argv[0])


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    config = tmp_path / "config"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return tmp_path


@pytest.fixture
def cropd(tmp_path) -> str:
    """An executable file standing in for the installed cropd."""
    exe = tmp_path / "bin" / "cropd"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return str(exe)


def unit_file(root: Path) -> Path:
    return root / "config" / "systemd" / "user" / UNIT_NAME


def agent_file(root: Path) -> Path:
    return root / "home" / "Library" / "LaunchAgents" / PLIST_NAME


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if not p.is_dir())


# ---------------------------------------------------------------- finding cropd


def make_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_cropd_prefers_the_script_beside_python(tmp_path):
    python = make_exe(tmp_path / "venv" / "bin" / "python")
    beside = make_exe(tmp_path / "venv" / "bin" / "cropd")
    other = make_exe(tmp_path / "elsewhere" / "cropd")
    got = service.find_cropd(executable=str(python), which=lambda name: str(other))
    assert got == [str(beside)]


def test_find_cropd_then_path(tmp_path):
    python = make_exe(tmp_path / "py" / "python")
    other = make_exe(tmp_path / "elsewhere" / "cropd")
    got = service.find_cropd(executable=str(python), which=lambda name: str(other))
    assert got == [str(other)]


def test_find_cropd_falls_back_to_python_m(tmp_path):
    python = make_exe(tmp_path / "py" / "python")
    got = service.find_cropd(executable=str(python), which=lambda name: None)
    assert got == [str(python), "-m", "cropd"]


def test_find_cropd_paths_are_absolute(tmp_path, monkeypatch):
    make_exe(tmp_path / "rel" / "cropd")
    monkeypatch.chdir(tmp_path)
    got = service.find_cropd(executable="", which=lambda name: "rel/cropd")
    assert got == [str(tmp_path / "rel" / "cropd")]


# ---------------------------------------------------------------- templates


def test_committed_templates_are_the_ones_loaded():
    for name in (UNIT_NAME, PLIST_NAME):
        assert service.load_template(name) == (REPO / "systemd" / name).read_text()


def test_committed_unit_has_the_settings():
    text = (REPO / "systemd" / UNIT_NAME).read_text()
    lines = {line.strip() for line in text.splitlines()}
    for want in (
        "Type=exec",
        "ExecStart=%h/.local/bin/cropd",
        "Restart=on-failure",
        "RuntimeDirectory=crop-progress",
        "RuntimeDirectoryMode=0700",
        "KillSignal=SIGTERM",
        "WantedBy=default.target",
    ):
        assert want in lines, want
    assert any(line.startswith("TimeoutStopSec=") for line in lines)
    assert any(line.startswith("Description=") for line in lines)
    assert any(line.startswith("Documentation=https://") for line in lines)


def test_committed_plist_parses_with_its_keys():
    data = plistlib.loads((REPO / "systemd" / PLIST_NAME).read_bytes())
    assert data["Label"] == LABEL
    assert data["ProgramArguments"] == ["/bin/sh", "-c", 'exec "$HOME/.local/bin/cropd"']
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["ProcessType"] in ("Interactive", "Background")
    # launchd expands no ~: a hand-copied agent leaves cropd's output to cropd's own log
    assert "StandardOutPath" not in data and "StandardErrorPath" not in data


def test_rendered_plist_keeps_every_word_and_escapes_xml(tmp_path):
    argv = ["/opt/R&D <x>/bin/python", "-m", "cropd"]
    log = tmp_path / "Logs" / "a&b.log"
    data = plistlib.loads(service.render_plist(argv, log).encode())
    assert data["ProgramArguments"] == argv
    assert data["StandardOutPath"] == data["StandardErrorPath"] == str(log)
    assert data["Label"] == LABEL


@pytest.mark.skipif(shutil.which("plutil") is None, reason="plutil exists on macOS only")
def test_rendered_plist_passes_plutil_lint(tmp_path, cropd):
    path = tmp_path / PLIST_NAME
    path.write_text(service.render_plist([cropd], tmp_path / "cropd.log"))
    proc = subprocess.run(["plutil", "-lint", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_wheel_carries_the_templates_into_crop_client():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    forced = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert forced == {
        f"systemd/{UNIT_NAME}": f"crop_client/service_files/{UNIT_NAME}",
        f"systemd/{PLIST_NAME}": f"crop_client/service_files/{PLIST_NAME}",
    }


def test_unit_command_line_quotes_and_escapes():
    line = service.systemd_command_line(["/opt/my apps/py%3$x", "-m", "cropd"])
    assert line == '"/opt/my apps/py%%3$x" -m cropd'
    assert service.systemd_command_line(["/usr/bin/cropd"]) == "/usr/bin/cropd"
    with pytest.raises(service.ServiceError):
        service.systemd_command_line(["cropd"])


# ---------------------------------------------------------------- systemd-analyze verify


def analyze_verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze --user verify`, in a throwaway user environment.

    The user mode needs XDG_RUNTIME_DIR to resolve RuntimeDirectory= (without
    it: "Failed to lookup RuntimeDirectory path"), so a private 0700 folder
    stands in for it.
    """
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "SYSTEMD_LOG_COLOR": "0",
    }
    return subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


@needs_analyze
@pytest.mark.parametrize("words", ["script", "python -m"])
def test_rendered_unit_passes_systemd_analyze_verify(env, cropd, words):
    argv = [cropd] if words == "script" else [sys.executable, "-m", "cropd"]
    unit = env / "verify" / UNIT_NAME
    unit.parent.mkdir()
    unit.write_text(service.render_unit(argv))
    proc = analyze_verify(unit, env)
    assert proc.returncode == 0, proc.stderr
    # Unknown keys are only warnings (exit 0), so the output must not name the unit.
    assert UNIT_NAME not in proc.stdout + proc.stderr, proc.stderr


@needs_analyze
def test_the_shipped_unit_passes_systemd_analyze_verify_where_pipx_puts_cropd(env):
    """As shipped, for a user who copies it by hand: ExecStart=%h/.local/bin/cropd."""
    home = env / "home"
    make_exe(home / ".local" / "bin" / "cropd")
    unit = env / "verify" / UNIT_NAME
    unit.parent.mkdir()
    shutil.copy(REPO / "systemd" / UNIT_NAME, unit)
    proc = analyze_verify(unit, env)
    assert proc.returncode == 0, proc.stderr
    assert UNIT_NAME not in proc.stdout + proc.stderr, proc.stderr


@needs_analyze
def test_systemd_analyze_verify_fails_without_cropd_there(env):
    """The check above can fail: with no cropd in ~/.local/bin the unit cannot run."""
    unit = env / "verify" / UNIT_NAME
    unit.parent.mkdir()
    shutil.copy(REPO / "systemd" / UNIT_NAME, unit)
    proc = analyze_verify(unit, env)
    assert proc.returncode != 0
    assert ".local/bin/cropd" in proc.stderr


# ---------------------------------------------------------------- systemd: install


def test_dry_run_prints_unit_and_commands_and_writes_nothing(env, cropd):
    result = service.install(dry_run=True, platform="linux", runner=refuse, cropd=[cropd])
    assert result.exit_code == EXIT_OK
    assert result.manager == "systemd"
    text = "\n".join(result.lines)
    assert f"ExecStart={cropd}" in text
    assert "[Install]" in text
    assert str(unit_file(env)) in text
    assert "  systemctl --user daemon-reload" in result.lines
    assert "  systemctl --user enable --now cropd.service" in result.lines
    assert result.commands == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", UNIT_NAME],
    ]
    assert result.content is not None and f"ExecStart={cropd}\n" in result.content
    assert not unit_file(env).exists()
    assert all_files(env / "home") == []
    assert not (env / "config").exists()


def test_dry_run_finds_an_absolute_cropd_by_itself(env):
    result = service.install(dry_run=True, platform="linux", runner=refuse)
    assert result.exit_code == EXIT_OK, result.lines
    exec_lines = [line for line in result.lines if line.startswith("ExecStart=")]
    assert len(exec_lines) == 1
    first_word = exec_lines[0].removeprefix("ExecStart=").split(" ")[0].strip('"')
    assert os.path.isabs(first_word)


def test_install_without_systemctl_leaves_the_unit_and_says_what_to_run(env, cropd):
    result = service.install(platform="linux", runner=missing, cropd=[cropd])
    assert result.exit_code == EXIT_NO_MANAGER == 2
    unit = unit_file(env)
    assert unit.read_text() == service.render_unit([cropd])
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    text = "\n".join(result.lines)
    assert "systemctl was not found" in text
    assert "  systemctl --user daemon-reload" in result.lines
    assert "  systemctl --user enable --now cropd.service" in result.lines
    assert result.later == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", UNIT_NAME],
    ]
    assert "Traceback" not in text


def test_install_without_a_user_manager_says_so(env, cropd):
    runner = FakeRunner(default=(1, "", NO_BUS))
    result = service.install(platform="linux", runner=runner, cropd=[cropd])
    assert result.exit_code == EXIT_NO_MANAGER
    assert runner.calls == [["systemctl", "--user", "daemon-reload"]]
    assert unit_file(env).is_file()
    text = "\n".join(result.lines)
    assert "cannot reach a user service manager" in text
    assert "Failed to connect to bus" in text
    assert "  systemctl --user enable --now cropd.service" in result.lines


def test_install_with_systemctl_reloads_then_enables(env, cropd):
    runner = FakeRunner()
    result = service.install(platform="linux", runner=runner, cropd=[cropd])
    assert result.exit_code == EXIT_OK, result.lines
    assert runner.calls == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", UNIT_NAME],
        ["loginctl", "show-user", str(os.getuid()), "--property=Linger"],
    ]
    assert f"ExecStart={cropd}\n" in unit_file(env).read_text()
    assert result.later == []
    assert any("enabled and started" in line for line in result.lines)
    # the fake answered nothing about lingering: install says how to keep cropd running
    assert result.linger == "unknown"
    assert any("loginctl enable-linger " in line for line in result.lines)


@pytest.mark.parametrize(("answer", "told"), [("Linger=no\n", True), ("Linger=yes\n", False)])
def test_install_tells_about_linger_when_it_is_off(env, cropd, answer, told):
    runner = FakeRunner({"show-user": (0, answer, "")})
    result = service.install(platform="linux", runner=runner, cropd=[cropd])
    assert result.linger == answer.strip().removeprefix("Linger=")
    assert any("enable-linger" in line for line in result.lines) is told


def test_dry_run_names_linger(env, cropd):
    result = service.install(dry_run=True, platform="linux", runner=refuse, cropd=[cropd])
    assert any("loginctl enable-linger" in line for line in result.lines)


def test_install_reports_a_failing_enable(env, cropd):
    runner = FakeRunner({"enable": (1, "", "Job for cropd.service failed.\n")})
    result = service.install(platform="linux", runner=runner, cropd=[cropd])
    assert result.exit_code == EXIT_FAILED
    assert any("Job for cropd.service failed." in line for line in result.lines)
    assert unit_file(env).is_file()


def test_install_honours_home_when_xdg_config_home_is_unset(env, cropd, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    service.install(platform="linux", runner=FakeRunner(), cropd=[cropd])
    assert (env / "home" / ".config" / "systemd" / "user" / UNIT_NAME).is_file()


# ---------------------------------------------------------------- systemd: uninstall, status


def test_uninstall_disables_removes_and_reloads(env, cropd):
    service.install(platform="linux", runner=FakeRunner(), cropd=[cropd])
    runner = FakeRunner()
    result = service.uninstall(platform="linux", runner=runner)
    assert result.exit_code == EXIT_OK, result.lines
    assert runner.calls == [
        ["systemctl", "--user", "disable", "--now", UNIT_NAME],
        ["systemctl", "--user", "daemon-reload"],
    ]
    assert not unit_file(env).exists()


def test_uninstall_dry_run_changes_nothing(env, cropd):
    service.install(platform="linux", runner=FakeRunner(), cropd=[cropd])
    result = service.uninstall(dry_run=True, platform="linux", runner=refuse)
    assert result.exit_code == EXIT_OK
    assert unit_file(env).is_file()
    assert f"Would remove {unit_file(env)}" in result.lines


def test_uninstall_without_systemctl_also_drops_the_enablement_link(env, cropd):
    service.install(platform="linux", runner=missing, cropd=[cropd])
    unit = unit_file(env)
    wants = unit.parent / "default.target.wants" / UNIT_NAME
    wants.parent.mkdir()
    wants.symlink_to(unit)
    result = service.uninstall(platform="linux", runner=missing)
    assert result.exit_code == EXIT_NO_MANAGER
    assert not unit.exists()
    assert not wants.is_symlink()
    assert "  systemctl --user daemon-reload" in result.lines


def test_uninstall_when_not_installed_is_a_no_op(env):
    result = service.uninstall(platform="linux", runner=refuse)
    assert result.exit_code == EXIT_OK
    assert result.installed is False
    assert any("not installed" in line for line in result.lines)


def test_status_before_and_after_install(env, cropd):
    before = service.status(platform="linux", runner=refuse)
    assert before.exit_code == EXIT_OK
    assert before.installed is False
    assert any("not installed" in line for line in before.lines)

    service.install(platform="linux", runner=FakeRunner(), cropd=[cropd])
    runner = FakeRunner({"is-enabled": (0, "enabled\n", ""), "is-active": (0, "active\n", "")})
    after = service.status(platform="linux", runner=runner, probe=lambda: "daemon: running")
    assert after.exit_code == EXIT_OK
    assert after.installed is True
    assert after.path == unit_file(env)
    assert (after.enabled, after.active) == ("enabled", "active")
    assert runner.calls == [
        ["systemctl", "--user", "is-enabled", UNIT_NAME],
        ["systemctl", "--user", "is-active", UNIT_NAME],
        ["loginctl", "show-user", str(os.getuid()), "--property=Linger"],
    ]
    assert f"  ExecStart={cropd}" in after.lines
    assert after.command == [cropd]
    assert after.to_json() == {"manager": "systemd", "file": str(unit_file(env)),
                               "installed": True, "enabled": "enabled", "active": "active",
                               "command": [cropd], "linger": "unknown", "exit_code": 0}
    assert after.daemon == "daemon: running"
    assert after.lines[-1] == "daemon: running"

    service.uninstall(platform="linux", runner=FakeRunner())
    gone = service.status(platform="linux", runner=refuse)
    assert gone.installed is False


def test_status_without_a_user_manager(env, cropd):
    service.install(platform="linux", runner=missing, cropd=[cropd])
    runner = FakeRunner({"is-enabled": (1, "disabled\n", ""), "is-active": (1, "", NO_BUS)})
    result = service.status(platform="linux", runner=runner)
    assert result.exit_code == EXIT_OK
    assert result.enabled == "disabled"
    assert result.active == "unknown (no user service manager)"


# ---------------------------------------------------------------- launchd (platform injected)


def test_macos_install_writes_the_agent_and_bootstraps_it(env, cropd):
    runner = FakeRunner()
    result = service.install(platform="darwin", runner=runner, cropd=[cropd], uid=501)
    assert result.exit_code == EXIT_OK, result.lines
    agent = agent_file(env)
    assert result.path == agent
    data = plistlib.loads(agent.read_bytes())
    assert data["Label"] == LABEL
    assert data["ProgramArguments"] == [cropd]
    log = env / "home" / "Library" / "Logs" / "crop-progress" / "cropd.launchd.log"
    assert data["StandardOutPath"] == str(log)
    assert log.parent.is_dir()
    assert runner.calls == [["launchctl", "bootstrap", "gui/501", str(agent)]]
    assert not (env / "config").exists()


def test_macos_reinstall_boots_the_old_agent_out_first(env, cropd):
    service.install(platform="darwin", runner=FakeRunner(), cropd=[cropd], uid=501)
    runner = FakeRunner({"bootout": (3, "", "Boot-out failed: 3: No such process\n")})
    result = service.install(platform="darwin", runner=runner, cropd=[cropd], uid=501)
    assert result.exit_code == EXIT_OK
    assert runner.calls == [
        ["launchctl", "bootout", f"gui/501/{LABEL}"],
        ["launchctl", "bootstrap", "gui/501", str(agent_file(env))],
    ]


def test_macos_dry_run_writes_nothing(env, cropd):
    result = service.install(dry_run=True, platform="darwin", runner=refuse, cropd=[cropd])
    assert result.exit_code == EXIT_OK
    assert "<key>ProgramArguments</key>" in [line.strip() for line in result.lines]
    assert any(line.startswith("  launchctl bootstrap gui/") for line in result.lines)
    assert all_files(env) == [Path(cropd)]


def test_macos_uninstall_boots_out_and_removes(env, cropd):
    service.install(platform="darwin", runner=FakeRunner(), cropd=[cropd], uid=501)
    runner = FakeRunner()
    result = service.uninstall(platform="darwin", runner=runner, uid=501)
    assert result.exit_code == EXIT_OK
    assert runner.calls == [["launchctl", "bootout", f"gui/501/{LABEL}"]]
    assert not agent_file(env).exists()


def test_macos_status_reads_launchctl_print(env, cropd):
    service.install(platform="darwin", runner=FakeRunner(), cropd=[cropd], uid=501)
    printed = f"gui/501/{LABEL} = {{\n\tactive count = 1\n\tstate = running\n\tpid = 4242\n}}\n"
    result = service.status(platform="darwin", runner=FakeRunner({"print": (0, printed, "")}))
    assert result.installed is True
    assert result.enabled == "loaded"
    assert result.active == "running (pid 4242)"


def test_unsupported_platform_is_a_clear_error(env, cropd):
    result = service.install(platform="win32", runner=refuse, cropd=[cropd])
    assert result.exit_code == EXIT_FAILED
    assert "win32" in result.lines[0]
    assert all_files(env) == [Path(cropd)]
