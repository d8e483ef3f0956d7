"""`multicrop DIR...`: the crop tool's command line (click, in the house style of
`crop_progress.commandline`); the window, or `--auto` without one.

Exit status: 0 when it ran (also when nothing was left), 1 on a usage or input
error with a one-line message, 2 when the daemon cannot be reached or started,
130 when interrupted.

An option is one `@click.option` on `run` and one field of `Options`; a value
that needs checking beyond its click type is checked in `run`, with `fail`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crop_client import completion
from crop_client.multicrop.options import AUTO_MODES, Options
from crop_progress.commandline import EXIT_INPUT, Command, examples, fail, version_option

TKINTER_HINT = ("multicrop: the window needs tkinter, which this Python lacks: install it "
                "(Debian/Ubuntu: sudo apt install python3-tk; Fedora: sudo dnf install "
                "python3-tkinter; macOS: brew install python-tk), or run `multicrop --auto "
                "center DIR` without a window")

PathArg = click.Path(path_type=Path)


@click.command("multicrop", cls=Command, epilog=examples(
    "multicrop ~/photos/_asian",
    "multicrop ~/photos --aspect 1:1 --per-batch 2",
    "multicrop ~/photos/_asian --auto center --aspect 4:3 --limit 50",
    "multicrop ~/photos/_asian --show-progress"))
@click.argument("directories", metavar="[DIR]...", nargs=-1, type=PathArg)
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="continue where you left off; with --no-resume, directories that have "
                   "progress are left alone")
@click.option("--reset-progress", is_flag=True,
              help="start afresh (the old progress file becomes .bak)")
@click.option("--show-progress", is_flag=True,
              help="print the progress display and exit; changes nothing")
@click.option("--progress-dir", metavar="PATH", type=PathArg, default=None,
              help="where progress files live (default: $CROP_PROGRESS_DIR or the user "
                   "data dir)")
@click.option("--output-dir", metavar="PATH", type=PathArg, default=None,
              help="where crops go (default: <parent>/<name>_cropped/)")
@click.option("--per-batch", type=click.IntRange(1, 3), default=3, show_default=True,
              metavar="1|2|3", help="images side by side")
@click.option("--aspect", metavar="original|free|1:1|4:3|3:2|16:9|W:H", default="original",
              show_default=True, help="the ratio the crop rectangle keeps")
@click.option("--move", is_flag=True,
              help="move originals out once their output is written (saves disk)")
@click.option("--retry-skipped", is_flag=True, help="offer skipped images again")
@click.option("--retry-failed", is_flag=True, help="offer failed images again")
@click.option("--auto", metavar="|".join(AUTO_MODES), default=None,
              help="run without a window: keep each image, or crop it to the largest centred "
                   "box of --aspect")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", default=None,
              help="stop after N images")
@version_option("multicrop")
@completion.options("multicrop")
def run(directories: tuple[Path, ...], resume: bool, reset_progress: bool,
        show_progress: bool, progress_dir: Path | None, output_dir: Path | None,
        per_batch: int, aspect: str, move: bool, retry_skipped: bool, retry_failed: bool,
        auto: str | None, limit: int | None) -> int:
    """Crop directories of images, resumably, in a window (or with --auto, without one).

    DIR is a folder of images, or a folder of such folders (worked on one by one).
    With no DIR, opens a generated sample set.
    """
    from crop_client.aspect import parse_aspect

    try:
        ratio = parse_aspect(aspect)
    except ValueError as exc:
        fail(f"--aspect: {exc}")
    if auto is not None and auto not in AUTO_MODES:
        fail(f"--auto takes {', '.join(AUTO_MODES[:-1])} or {AUTO_MODES[-1]}, not {auto!r}")
    folders = list(directories)
    for folder in folders:
        if not folder.exists():
            fail(f"no such directory: {folder}")
        if not folder.is_dir():
            fail(f"not a directory: {folder}")
    if not folders:
        from crop_client.multicrop.sample import sample_set

        folders = [sample_set()]
        click.echo(f"No directory given: using the generated sample set in {folders[0]}")
    options = Options(directories=[f.resolve() for f in folders], resume=resume,
                      reset_progress=reset_progress, show_progress=show_progress,
                      progress_dir=progress_dir, output_dir=output_dir, per_batch=per_batch,
                      aspect=ratio, move=move, retry_skipped=retry_skipped,
                      retry_failed=retry_failed, auto=auto, limit=limit)
    if show_progress or auto is not None:
        from crop_client.multicrop.auto import run_auto

        return run_auto(options)
    return _window(options)


def _window(options: Options) -> int:
    try:
        import tkinter  # noqa: F401  (only to say, in one line, that it is missing)
    except ModuleNotFoundError:
        sys.stderr.write(TKINTER_HINT + "\n")
        return EXIT_INPUT
    from crop_client.multicrop.gui import run_window

    return run_window(options)


def main(argv: list[str] | None = None) -> None:
    run.main(args=argv, prog_name="multicrop")


if __name__ == "__main__":
    main()
