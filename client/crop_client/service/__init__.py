"""Install, remove and inspect cropd as a user service (`cropctl service ...`).

On Linux the systemd user unit (`systemd`), on macOS the launchd agent
(`launchd`); `common` holds what both share. The templates are
`systemd/cropd.service` and `systemd/io.github.crop-progress.cropd.plist` of the
repository, each valid as shipped; a wheel carries them as `crop_client/service_files/`.

Every action returns a `ServiceResult` (lines to print, an exit code, and what was
written and run) and never raises for a missing or unreachable service manager:
the CLI prints `result.lines` (or `result.to_json()`) and exits with
`result.exit_code`. The command runner (`subprocess.run` by default), the platform
and the uid are parameters, so tests fake systemctl and launchctl and exercise the
macOS path on Linux.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from crop_client.service import common, launchd, systemd
from crop_client.service.common import (
    EXIT_FAILED,
    EXIT_NO_MANAGER,
    EXIT_OK,
    LABEL,
    LAUNCHD,
    PLIST_NAME,
    SYSTEMD,
    UNIT_NAME,
    DaemonProbe,
    Runner,
    ServiceError,
    ServiceResult,
    find_cropd,
    load_template,
    manager_for,
)
from crop_client.service.launchd import launchd_log_path, plist_path, render_plist
from crop_client.service.systemd import (
    SHIPPED_EXEC,
    render_unit,
    systemd_command_line,
    unit_path,
)

__all__ = ["EXIT_FAILED", "EXIT_NO_MANAGER", "EXIT_OK", "LABEL", "LAUNCHD", "PLIST_NAME",
           "SHIPPED_EXEC", "SYSTEMD", "UNIT_NAME", "DaemonProbe", "Runner", "ServiceError",
           "ServiceResult", "find_cropd", "install", "launchd_log_path", "load_template",
           "manager_for", "plist_path", "render_plist", "render_unit", "status",
           "systemd_command_line", "uninstall", "unit_path"]


def install(
    *,
    dry_run: bool = False,
    platform: str | None = None,
    runner: Runner = subprocess.run,
    cropd: Sequence[str] | None = None,
    uid: int | None = None,
) -> ServiceResult:
    """Write this platform's service file for the installed cropd and enable it.

    `cropd` overrides `find_cropd()` (argv words, absolute path first). With
    `dry_run`, nothing is written or run: `lines`, `content` and `commands`
    say what would be.
    """
    result = ServiceResult(manager=manager_for(platform))
    if not result.manager:
        return common.unsupported(result, platform)
    try:
        argv = list(cropd) if cropd is not None else find_cropd()
        if result.manager == SYSTEMD:
            return systemd.install(result, argv, dry_run, runner)
        return launchd.install(result, argv, dry_run, runner, uid)
    except ServiceError as exc:
        return result.fail(str(exc))


def uninstall(
    *,
    dry_run: bool = False,
    platform: str | None = None,
    runner: Runner = subprocess.run,
    uid: int | None = None,
) -> ServiceResult:
    """Stop and disable the service and remove its file (nothing to do if absent)."""
    result = ServiceResult(manager=manager_for(platform))
    if not result.manager:
        return common.unsupported(result, platform)
    if result.manager == SYSTEMD:
        return systemd.uninstall(result, dry_run, runner)
    return launchd.uninstall(result, dry_run, runner, uid)


def status(
    *,
    dry_run: bool = False,
    platform: str | None = None,
    runner: Runner = subprocess.run,
    uid: int | None = None,
    probe: DaemonProbe | None = None,
) -> ServiceResult:
    """Whether the service file is installed, and whether it is enabled and active.

    Changes nothing (`dry_run` is accepted for a uniform signature and
    ignored). `probe`, when given, says whether a cropd answers; its line is
    added and kept in `result.daemon`. The exit code is 0 whenever the
    question could be asked, installed or not.
    """
    del dry_run
    result = ServiceResult(manager=manager_for(platform))
    if not result.manager:
        common.unsupported(result, platform)
    elif result.manager == SYSTEMD:
        systemd.status(result, runner)
    else:
        launchd.status(result, runner, uid)
    if probe is not None:
        try:
            result.daemon = probe()
        except Exception as exc:  # the probe is someone else's code: report, don't crash
            result.daemon = f"daemon: could not tell ({exc})"
        if result.daemon:
            result.say(result.daemon)
    return result


