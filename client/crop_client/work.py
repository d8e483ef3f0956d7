"""The file work for one claimed image, then its report; and taking it back on undo.

Outputs appear only once their outcome is acknowledged: the crop or copy (and
each companion) is written as `.<file>.<lease token>.part` in the output
folder, the report goes out, and only the daemon's ack gives the parts their
final names. On LEASE_LOST (another window has the image now) the parts are
removed and anything sent to the trash is restored, so a late window never
overwrites another's output; what a killed client leaves, the daemon finishes
or removes when the directory is next opened. Without `--move` originals are
never touched; with it, they leave the work directory only after the ack
(a kept image is linked or copied to its part first).
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from crop_client import imageops, shaping, trash
from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_progress import fsio
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode

Action = Literal["crop", "keep", "skip", "delete"]


@dataclass
class Decision:
    action: Action
    box: tuple[int, int, int, int] | None = None  # full-resolution, after EXIF orientation
    reason: str | None = None


@dataclass
class Target:
    directory: str
    output_dir: str
    move: bool = False
    shape: shaping.Shape | None = None   # every output resized to it (--fit and the like)
    png_level: int | None = None      # zlib level of PNG outputs (None: imageops' default)

    @classmethod
    def from_opened(cls, opened: m.Opened, move: bool = False) -> Target:
        return cls(opened.summary.directory, opened.summary.output_directory, move)


@dataclass
class _Done:
    outcome: m.Outcome
    dest: str | None = None
    box: list[int] | None = None
    reason: str | None = None
    moved: bool = False
    trashed: list[str] = field(default_factory=list)
    out_size: list[int] | None = None
    parts: list[tuple[Path, Path]] = field(default_factory=list)   # (part, final name)
    leave: list[Path] = field(default_factory=list)   # originals that go after the ack
    restore: list[tuple[Path, str]] = field(default_factory=list)  # (original, in trash)

    def commit(self) -> None:
        """The report was acknowledged: the parts get their names, the originals go."""
        for part, final in self.parts:
            try:
                fsio.rename(part, final)
            except FileNotFoundError:
                if not final.exists():
                    raise
                # the daemon finished it at an Open while our ack was on its way
        for original in self.leave:
            with contextlib.suppress(FileNotFoundError):
                original.unlink()
        if self.leave:
            fsio.fsync_dir(self.leave[0].parent)

    def discard(self) -> None:
        """The report did not count: nothing of it may stay."""
        for part, _final in self.parts:
            with contextlib.suppress(OSError):
                part.unlink()
        for original, trashed in self.restore:
            if trashed:
                with contextlib.suppress(OSError, trash.TrashError):
                    trash.restore(original, trashed)


def part_name(name: str, token: int) -> str:
    """The temporary name of an output until its report is acknowledged."""
    return f".{name}.{token}.part"


def carry_out(session: Session, target: Target, item: m.ClaimedImage, decision: Decision, *,
              batch: str | None = None) -> m.Reported:
    """Do the decision's file work, report it, and on the ack give the outputs their
    names. An image that cannot be read (or vanished) is reported `failed` with the
    reason; a disk that refuses the output raises OSError and nothing is reported.
    LEASE_LOST raises DaemonError after the outputs were removed."""
    done = perform(target, item, decision)
    report = m.Report(directory=target.directory, file=item.file, outcome=done.outcome,
                      dest=done.dest, companions=list(item.companions), reason=done.reason,
                      box=done.box, batch=batch, moved=done.moved, trashed=done.trashed,
                      token=item.token, out_size=done.out_size)
    try:
        reported = session.report(report)
    except DaemonError as exc:
        if exc.code == ErrorCode.LEASE_LOST:
            done.discard()
        raise  # otherwise unknown whether it counted: the next Open settles the parts
    done.commit()
    return reported


def perform(target: Target, item: m.ClaimedImage, decision: Decision) -> _Done:
    """The file work before the report: outputs as parts, nothing final yet."""
    src = Path(target.directory) / item.file
    companions = [Path(target.directory) / name for name in item.companions]
    if decision.action == "skip":
        return _Done("skipped", reason=decision.reason)
    if not src.exists():
        return _Done("failed", reason="vanished from the directory")
    if decision.action == "delete":
        paths = [src, *[c for c in companions if c.exists()]]
        trashed = trash.trash(paths)
        return _Done("deleted", dest=trashed[0] or None, trashed=trashed,
                     restore=list(zip(paths, trashed, strict=True)))
    out_dir = Path(target.output_dir)
    dest = out_dir / item.file
    try:
        size = imageops.oriented_size(src)
    except imageops.ImageError as exc:
        return _Done("failed", reason=str(exc))
    out_dir.mkdir(parents=True, exist_ok=True)
    box = decision.box
    cropped = decision.action == "crop" and box is not None and not imageops.is_full_image(
        box, size)
    if target.shape is not None and not cropped:   # shaped: a whole image is written too
        box, cropped = (0, 0, size[0], size[1]), True
    done = _Done("cropped" if cropped else "kept", dest=str(dest),
                 box=list(box) if cropped and box else None, moved=target.move)
    part = out_dir / part_name(item.file, item.token)
    try:
        if cropped:
            assert box is not None
            try:
                written = imageops.crop_image(src, part, box, shape=target.shape,
                                              png_level=target.png_level)
            except imageops.ImageError as exc:
                return _Done("failed", reason=str(exc))
            done.out_size = list(written) if target.shape is not None else None
        else:
            _link_or_copy(src, part, target.move)
        done.parts.append((part, dest))
        for companion in companions:
            if not companion.exists():
                continue
            companion_part = out_dir / part_name(companion.name, item.token)
            _link_or_copy(companion, companion_part, target.move)
            done.parts.append((companion_part, out_dir / companion.name))
    except BaseException:
        done.discard()
        raise
    if target.move:
        done.leave = [c for c in companions if c.exists()]
        if cropped:  # the cropped original goes to the trash, where undo finds it
            done.trashed = trash.trash([src])
            done.restore = [(src, done.trashed[0])]
        else:
            done.leave.append(src)
    return done


def _link_or_copy(src: Path, part: Path, move: bool) -> None:
    """The part of a kept file: a hard link when moving (no bytes written, the
    original leaves after the ack), else a byte-for-byte copy."""
    if move:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        try:
            os.link(src, part)
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                                 errno.EOPNOTSUPP):
                raise
    imageops.copy_file(src, part)


def take_back(target: Target, item: m.UndoneItem) -> list[str]:
    """Undo the file work of an undone outcome; returns problems to show (never raises)."""
    problems: list[str] = []
    src_dir, out_dir = Path(target.directory), Path(target.output_dir)
    names = [item.file, *item.companions]

    def attempt(what: str, action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except (OSError, trash.TrashError) as exc:
            problems.append(f"{what}: {exc}")

    if item.outcome == "deleted":
        for name, trashed in zip(names, item.trashed, strict=False):
            if trashed:
                attempt(f"restore {name}", lambda n=name, t=trashed: trash.restore(src_dir / n, t))
            else:
                problems.append(f"{name} cannot be restored from the trash on this platform; "
                                "restore it yourself")
        return problems
    if item.outcome not in ("cropped", "kept"):
        return problems
    if item.moved:
        if item.outcome == "cropped":
            attempt(f"remove {item.file}", lambda: (out_dir / item.file).unlink(missing_ok=True))
            if item.trashed and item.trashed[0]:
                attempt(f"restore {item.file}",
                        lambda: trash.restore(src_dir / item.file, item.trashed[0]))
            moved_back = item.companions
        else:
            moved_back = names
        for name in moved_back:
            if (out_dir / name).exists() and not (src_dir / name).exists():
                attempt(f"move back {name}",
                        lambda n=name: imageops.move_file(out_dir / n, src_dir / n))
        return problems
    for name in names:
        attempt(f"remove {name}", lambda n=name: (out_dir / n).unlink(missing_ok=True))
    return problems

