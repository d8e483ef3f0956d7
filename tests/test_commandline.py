"""One command-line style for cropd, cropctl and multicrop: SPEC's exit codes (1 usage or
input, one line on stderr; 2 the daemon), `--version`, help that shows real metavars,
whole summaries and an example for every command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import make_images

from crop_client.cropctl.commands import app
from crop_client.errors import DaemonError, DaemonUnavailable, explain
from crop_client.multicrop.cli import run as multicrop_command
from crop_progress import __version__
from crop_progress.commandline import EXIT_DAEMON, EXIT_INPUT
from cropd.cli import run as cropd_command

pytestmark = pytest.mark.timeout(60)

MODULES = {"cropd": "cropd", "cropctl": "crop_client.cropctl",
           "multicrop": "crop_client.multicrop"}


def run(prog: str, *args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", MODULES[prog], *args], capture_output=True,
                          text=True, timeout=45, stdin=subprocess.DEVNULL, cwd=cwd,
                          env=env or os.environ.copy())


def one_line(result: subprocess.CompletedProcess[str], prog: str, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(("prog", "args", "needle"), [
    ("multicrop", ["d", "--per-batch", "5"], "--per-batch"),
    ("multicrop", ["--bogus"], "--bogus"),
    ("multicrop", ["--limit", "0"], "--limit"),
    ("cropctl", ["stats", "--days", "0"], "--days"),
    ("cropctl", ["bogus"], "bogus"),
    ("cropctl", ["show"], "DIR"),
    ("cropctl", ["daemon", "stop", "--timeout", "soon"], "--timeout"),
    ("cropd", ["--bogus"], "--bogus"),
    ("cropd", ["--lease-ttl", "-1"], "--lease-ttl"),
    ("cropd", ["--log-level", "LOUD"], "--log-level"),
])
def test_usage_errors_exit_1_with_one_line(tmp_path: Path, prog: str, args: list[str],
                                           needle: str) -> None:
    (tmp_path / "d").mkdir()
    line = one_line(run(prog, *args, cwd=tmp_path), prog, EXIT_INPUT)
    assert needle in line
    assert "--help" in line  # it says where to look


@pytest.mark.parametrize("prog", sorted(MODULES))
def test_version_everywhere(prog: str) -> None:
    result = run(prog, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{prog} {__version__}"


def test_daemon_that_cannot_be_started_exits_2_everywhere(tmp_path: Path) -> None:
    make_images(tmp_path / "d", 1)
    env = {**os.environ, "CROPD_ENDPOINT": "bogus://nowhere"}
    one_line(run("cropctl", "daemon", "start", env=env), "cropctl", EXIT_DAEMON)
    one_line(run("multicrop", str(tmp_path / "d"), "--auto", "keep", env=env), "multicrop",
             EXIT_DAEMON)
    cropd = run("cropd", "--endpoint", "bogus://nowhere")
    assert cropd.returncode == EXIT_DAEMON, cropd.stderr
    assert "cannot bind bogus://nowhere" in cropd.stderr
    assert "Traceback" not in cropd.stderr


def test_one_mapping_from_err_codes_to_exit_codes() -> None:
    assert explain(DaemonUnavailable("silence")) == (
        "the progress daemon cannot be reached or started: silence", EXIT_DAEMON)
    for code in ("BUSY", "INTERNAL", "VERSION_MISMATCH"):
        assert explain(DaemonError(code, "no"))[1] == EXIT_DAEMON  # type: ignore[index]
    assert "too busy" in explain(DaemonError("BUSY", "overloaded"))[0]  # type: ignore[index]
    for code in ("NOT_FOUND", "UNKNOWN_DIRECTORY", "DAMAGED", "STORAGE_ERROR", "BAD_REQUEST"):
        assert explain(DaemonError(code, "no")) == ("no", EXIT_INPUT)
    assert explain(ValueError("a bug")) is None


def test_without_tkinter_multicrop_says_how_to_install_it(tmp_path: Path) -> None:
    make_images(tmp_path / "d", 1)
    code = ("import sys; sys.modules['tkinter'] = None; "
            "from crop_client.multicrop.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "d")],
                            capture_output=True, text=True, timeout=45,
                            env={**os.environ, "DISPLAY": ":0"})
    line = one_line(result, "multicrop", EXIT_INPUT)
    assert "tkinter" in line and "apt install python3-tk" in line


# ----------------------------------------------------------------------- help


def every_command(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += every_command(sub, (*path, name))
    return found


CASES = ([("cropctl", p) for p in every_command(app)]
         + [("multicrop", ()), ("cropd", ())])
IDS = [" ".join((prog, *path)) for prog, path in CASES]


@pytest.mark.parametrize(("prog", "path"), CASES, ids=IDS)
def test_help_is_whole_with_real_metavars_and_an_example(prog: str,
                                                          path: tuple[str, ...]) -> None:
    root = {"cropctl": app, "multicrop": multicrop_command, "cropd": cropd_command}[prog]
    result = CliRunner().invoke(root, [*path, "--help"], prog_name=prog,
                                              terminal_width=80)
    text = result.output
    assert result.exit_code == 0, text
    assert text.startswith(f"Usage: {' '.join((prog, *path))} ")
    assert "Examples:" in text
    example_lines = text.split("Examples:", 1)[1].strip().splitlines()
    assert example_lines and all(line.strip().startswith(prog) or "=" in line.split()[0]
                                 for line in example_lines)
    assert "..." not in text.replace("[DIR]...", "").replace("[ARGS]...", "")
    for internal in ("<str>", "<list", "{DIR}", "TEXT", "INTEGER", "FLOAT", "PATH...",
                     "BOOLEAN"):
        assert internal not in text, (internal, text)
    assert not re.search(r"^\S.{80,}$", text, re.M)  # nothing wider than asked
