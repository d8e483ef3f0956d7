"""cropd as a launchd agent on macOS: `~/Library/LaunchAgents/io.github.crop-progress.cropd.plist`,
driven with `launchctl bootstrap/bootout/print` in the user's `gui/<uid>` domain."""

from __future__ import annotations

import os
import plistlib
import re
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from crop_client.service import common
from crop_client.service.common import (
    EXIT_NO_MANAGER,
    LABEL,
    PLIST_NAME,
    Runner,
    ServiceError,
    ServiceResult,
    check_words,
    load_template,
)


def plist_path() -> Path:
    """`~/Library/LaunchAgents/io.github.crop-progress.cropd.plist`."""
    return Path.home() / "Library" / "LaunchAgents" / PLIST_NAME


def launchd_log_path() -> Path:
    """Where launchd sends cropd's stdout and stderr (platformdirs' macOS log dir)."""
    return Path.home() / "Library" / "Logs" / "crop-progress" / "cropd.launchd.log"


def render_plist(cropd: Sequence[str], log_path: Path) -> str:
    """The launchd agent with ProgramArguments `cropd` and its output to `log_path`."""
    check_words(cropd)
    template = load_template(PLIST_NAME)
    match = re.search(r"(<key>ProgramArguments</key>\s*)<array>.*?</array>", template, re.S)
    end = template.rfind("</dict>")
    if match is None or end < 0:
        raise ServiceError(f"the template {PLIST_NAME} has no ProgramArguments array.")
    words = "".join(f"\n\t\t<string>{xml_escape(w)}</string>" for w in cropd)
    log = xml_escape(str(log_path))
    text = (template[:match.start()] + match.group(1) + f"<array>{words}\n\t</array>"
            + template[match.end():end]
            + f"\t<key>StandardOutPath</key>\n\t<string>{log}</string>\n"
            + f"\t<key>StandardErrorPath</key>\n\t<string>{log}</string>\n"
            + template[end:])
    try:
        plistlib.loads(text.encode("utf-8"))
    except Exception as exc:  # a damaged template must not reach launchd
        raise ServiceError(f"the rendered {PLIST_NAME} is not a valid plist: {exc}") from None
    return text


def program_arguments(content: str) -> list[str] | None:
    try:
        words = plistlib.loads(content.encode("utf-8")).get("ProgramArguments")
    except Exception:
        return None
    return [str(w) for w in words] if isinstance(words, list) else None


def _domain(uid: int | None) -> str:
    return f"gui/{os.getuid() if uid is None else uid}"


def install(
    result: ServiceResult, cropd: list[str], dry_run: bool, runner: Runner, uid: int | None
) -> ServiceResult:
    path = plist_path()
    log_path = launchd_log_path()
    content = render_plist(cropd, log_path)
    domain = _domain(uid)
    bootout = ["launchctl", "bootout", f"{domain}/{LABEL}"]
    bootstrap = ["launchctl", "bootstrap", domain, str(path)]
    # A loaded agent must be booted out before bootstrap takes the new plist.
    reinstall = path.exists()
    result.path, result.content = path, content
    if dry_run:
        result.commands = [bootout, bootstrap] if reinstall else [bootstrap]
        result.say(f"Would write {path}:")
        result.lines.extend(content.rstrip("\n").splitlines())
        result.say("Would run:")
        if reinstall:
            result.say(f"  {common.show(bootout)}    (already installed: unload the old one)")
        result.say(f"  {common.show(bootstrap)}")
        return result

    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)  # launchd does not make it
        common.write_file(path, content)
    except OSError as exc:
        return result.fail(f"Could not write {path}: {exc}")
    result.installed = True
    result.say(f"Wrote {path}")
    if reinstall:
        common.run(runner, bootout)  # fails harmlessly when it was not loaded
        result.commands.append(bootout)
    outcome = common.run(runner, bootstrap)
    result.commands.append(bootstrap)
    if outcome.missing:
        result.say("launchctl was not found; the agent file stays in place.")
        result.later = [bootstrap]
        result.say("To load it, run:")
        result.say(f"  {common.show(bootstrap)}")
        result.exit_code = EXIT_NO_MANAGER
        return result
    if not outcome.ok:
        result.later = [bootstrap]
        result.fail(f"`{common.show(bootstrap)}` failed: {outcome.message}")
        result.say("The agent file stays in place: it loads at next login, or run that again.")
        return result
    result.say(f"Ran: {common.show(bootstrap)}")
    result.enabled, result.active = "loaded", "running"
    result.say(f"{LABEL} is loaded; it starts at each login. Output goes to {log_path}.")
    return result


def uninstall(
    result: ServiceResult, dry_run: bool, runner: Runner, uid: int | None
) -> ServiceResult:
    path = plist_path()
    result.path = path
    bootout = ["launchctl", "bootout", f"{_domain(uid)}/{LABEL}"]
    if not path.exists():
        result.installed = False
        result.say(f"{LABEL} is not installed ({path} does not exist); nothing to do.")
        return result
    if dry_run:
        result.commands = [bootout]
        result.say(f"Would run: {common.show(bootout)}")
        result.say(f"Would remove {path}")
        return result
    outcome = common.run(runner, bootout)
    result.commands.append(bootout)
    if outcome.ok:
        result.say(f"Ran: {common.show(bootout)}")
    elif outcome.missing:
        result.later = [bootout]
        result.exit_code = EXIT_NO_MANAGER
        result.say(f"launchctl was not found; if the agent is loaded, run: {common.show(bootout)}")
    else:
        result.say(f"`{common.show(bootout)}`: {outcome.message} (it was probably not loaded)")
    if not common.remove_file(result, path):
        return result
    return result


def status(result: ServiceResult, runner: Runner, uid: int | None) -> ServiceResult:
    path = plist_path()
    result.path = path
    result.installed = path.exists()
    where = "installed at" if result.installed else "not installed; no"
    result.say(f"{LABEL}: {where} {path}")
    cmd = ["launchctl", "print", f"{_domain(uid)}/{LABEL}"]
    outcome = common.run(runner, cmd)
    result.commands.append(cmd)
    if outcome.missing:
        result.enabled = result.active = "unknown (launchctl not found)"
    elif not outcome.ok:
        result.enabled, result.active = "not loaded", "inactive"
    else:
        result.enabled = "loaded"
        state = re.search(r"^\s*state = (.+)$", outcome.stdout, re.M)
        pid = re.search(r"^\s*pid = (\d+)", outcome.stdout, re.M)
        result.active = state.group(1).strip() if state else "unknown"
        if pid:
            result.active += f" (pid {pid.group(1)})"
    content = common.read(path)
    result.command = program_arguments(content) if content is not None else None
    result.say(f"  loaded: {result.enabled}")
    result.say(f"  state: {result.active}")
    return result


