"""The file work for one claimed image, then its report; and taking it back on undo.

Order matters for "never lose work": outputs are written (to a temporary name,
then renamed) before anything leaves the work directory, and the report goes
out only after the files are in place. Without `--move` originals are never
touched; with it, they leave only once their output is safely written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from crop_client import imageops, shaping, trash
from crop_client.session import Session
from crop_protocol import messages as m

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
    outcome: str
    dest: str | None = None
    box: list[int] | None = None
    reason: str | None = None
    moved: bool = False
    trashed: list[str] = field(default_factory=list)
    out_size: list[int] | None = None


def carry_out(session: Session, target: Target, item: m.ClaimedImage, decision: Decision, *,
              batch: str | None = None) -> m.Reported:
    """Do the decision's file work, then report it. An image that cannot be read
    (or vanished) is reported `failed` with the reason; a disk that refuses the
    output raises OSError and nothing is reported."""
    done = perform(target, item, decision)
    report = m.Report(directory=target.directory, file=item.file, outcome=done.outcome,
                      dest=done.dest, companions=list(item.companions), reason=done.reason,
                      box=done.box, batch=batch, moved=done.moved, trashed=done.trashed,
                      out_size=done.out_size)
    return session.report(report)


def perform(target: Target, item: m.ClaimedImage, decision: Decision) -> _Done:
    src = Path(target.directory) / item.file
    companions = [Path(target.directory) / name for name in item.companions]
    if decision.action == "skip":
        return _Done("skipped", reason=decision.reason)
    if not src.exists():
        return _Done("failed", reason="vanished from the directory")
    if decision.action == "delete":
        paths = [src, *[c for c in companions if c.exists()]]
        trashed = trash.trash(paths)
        return _Done("deleted", dest=trashed[0] or None, trashed=trashed)
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
    trashed: list[str] = []
    out_size: list[int] | None = None
    if cropped:
        assert box is not None
        try:
            written = imageops.crop_image(src, dest, box, shape=target.shape,
                                          png_level=target.png_level)
        except imageops.ImageError as exc:
            return _Done("failed", reason=str(exc))
        out_size = list(written) if target.shape is not None else None
    elif target.move:
        imageops.move_file(src, dest)
    else:
        imageops.copy_file(src, dest)
    for companion in companions:
        if not companion.exists():
            continue
        copy_dest = out_dir / companion.name
        if target.move:
            imageops.move_file(companion, copy_dest)
        else:
            imageops.copy_file(companion, copy_dest)
    if cropped and target.move:
        trashed = trash.trash([src])
    return _Done("cropped" if cropped else "kept", dest=str(dest),
                 box=list(box) if cropped and box else None, moved=target.move,
                 trashed=trashed, out_size=out_size)


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

