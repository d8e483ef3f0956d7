"""Does a workstation see the directory the daemon sees? Its Open says what it
found at its own mount (how many images, a digest of their names, a few of
them); a share mounted at the wrong place on one side shows as other names.

A mismatch is refused naming both paths, before anything is written, so it
never becomes a second progress file. A few names apart (a copy still under
way, a file removed a moment ago) is only a note.
"""

from __future__ import annotations

from crop_progress.scan import directory_hash, scan_directory
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.directory import Directory
from cropd.state import Refusal

SAMPLE_TOLERANCE = 4  # refuse when more than 1 in 4 of the sampled names are not here


def same_images(found: Directory, req: m.Open) -> list[str]:
    if req.names_digest is None:
        return []
    if req.names_digest == found.tracker.hash:
        return []
    try:  # the daemon's view may lag behind a rescan: look again
        names = set(scan_directory(found.path).images)
    except OSError:
        names = set(found.tracker.on_disk)
    if directory_hash(list(names)) == req.names_digest:
        return []
    theirs = req.image_count if req.image_count is not None else len(req.sample)
    missing = [n for n in req.sample if n not in names]
    where = f"{req.client_path or '?'} on this workstation, {found.path} on the daemon's host"
    if len(missing) * SAMPLE_TOLERANCE > len(req.sample) or (not names) != (not theirs):
        raise Refusal(ErrorCode.MISMATCH,
                      f"{found.key} is {where}, but they hold different images ({theirs:,} "
                      f"here, {len(names):,} there; {len(missing)} of {len(req.sample)} "
                      "names checked are not there): the share is mounted at another place "
                      "than `cropctl team share` says, on one side; nothing was written")
    return [f"The images differ a little between {where} ({theirs:,} here, {len(names):,} "
            "there): a copy still under way?"]
